from backend.settings import BackendSettings
from common.settings import HewstonSettings


def test_redis_url_from_plain_or_prefixed_variable(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert HewstonSettings(_env_file=None).redis_url == "redis://127.0.0.1:1/0"
    monkeypatch.delenv("REDIS_URL")
    assert HewstonSettings(_env_file=None).redis_url is None


def test_logs_are_json_in_production_unless_told_otherwise():
    assert HewstonSettings(_env_file=None, environment="production").logs_as_json
    assert not HewstonSettings(_env_file=None).logs_as_json
    assert HewstonSettings(_env_file=None, log_json=True).logs_as_json


def test_settings_are_read_when_built_not_at_import(monkeypatch, tmp_path):
    monkeypatch.setenv("HEWSTON_DATA_DIR", str(tmp_path))
    settings = BackendSettings(_env_file=None)
    assert settings.data_dir == tmp_path
    assert settings.catalog_path == tmp_path / "catalog.sqlite3"
    assert "service_token" not in repr(BackendSettings(_env_file=None, service_token="hw_x"))
