"""Code shared by every Hewston role: wire models, Redis key names, settings, logging and errors."""
