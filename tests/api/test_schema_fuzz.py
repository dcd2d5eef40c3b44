"""Schemathesis against both OpenAPI documents, over real servers on loopback, with a bounded budget.

Every phase runs (coverage: boundary values and undeclared methods; fuzzing: generated valid and invalid
requests; stateful: chains through the documented links, such as a created run's id), and the run fails on
any 5xx, an undocumented status, a body or header that does not match its schema, a wrong content type,
invalid input that was accepted, or an undeclared method not answered 405 with ``Allow``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api.main import create_app
from tests.api.conftest import api_settings
from tests.conftest import ALICE_TOKEN
from tests.support.servers import live_server

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance,negative_data_rejection,unsupported_method")
# Cases per operation: about a minute for both documents on a 2-core machine.
MAX_EXAMPLES = 50
# A fixed seed: the same cases every run, so a failure reproduces and a pass is not luck.
SEED = 20261127

pytestmark = pytest.mark.slow


def schemathesis(schema_url: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("schemathesis")), "run", schema_url,
               "--header", f"Authorization: Bearer {ALICE_TOKEN}", "--checks", CHECKS,
               "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--mode", "all",
               "--generation-database", "none", "--request-timeout", "10", "--no-color",
               "--report-dir", str(report_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=report_dir)


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert " passed" in output and "failure" not in output.split("SUMMARY")[-1], output[-3000:]


def test_the_backend_document_holds_under_schemathesis(shared_backend, completed_run, tmp_path):
    assert_clean(schemathesis(f"{shared_backend.http_url}/openapi.json", tmp_path))


def test_the_api_document_holds_under_schemathesis(shared_backend, completed_run, tmp_path):
    # Embedded broker and limits out of the way: the fuzzer looks for wrong answers, not for 429s.
    app = create_app(api_settings(shared_backend.http_url, None, rate_limit_requests=10**9,
                                  rate_limit_address_requests=10**9))
    with live_server(app) as api:
        assert_clean(schemathesis(f"{api.http_url}/openapi.json", tmp_path))
