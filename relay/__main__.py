"""``python -m relay``: one relay process (settings from the environment, ``HEWSTON_RELAY_*``)."""

import sys

from relay.main import main

sys.exit(main())
