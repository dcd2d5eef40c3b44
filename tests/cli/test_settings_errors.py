"""A bad setting, from an option or the environment, stops a command with one line naming it."""

from __future__ import annotations

from hewston.cli import main


def test_an_option_out_of_range_names_the_setting_without_a_traceback(capsys):
    assert main(["worker", "--metrics-port", "70000"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("error: setting metrics_port of WorkerConfig: Input should be less than or equal to "
                           "65535 (got 70000)")


def test_a_bad_environment_value_names_the_setting(capsys, monkeypatch):
    monkeypatch.setenv("HEWSTON_API_PORT", "abc")
    assert main(["api"]) == 2
    err = capsys.readouterr().err
    assert "setting port of ApiSettings" in err and "'abc'" in err and "Traceback" not in err
