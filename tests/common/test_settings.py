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


def test_one_variable_sets_the_environment_log_level_backend_and_key_prefix_of_every_role(monkeypatch):
    from api.settings import ApiSettings
    from relay.settings import RelaySettings
    from workers.config import WorkerConfig

    for name, value in {"HEWSTON_ENVIRONMENT": "production", "HEWSTON_LOG_LEVEL": "DEBUG",
                        "HEWSTON_BACKEND_URL": "http://backend:8000", "HEWSTON_REDIS_KEY_PREFIX": "hwp"}.items():
        monkeypatch.setenv(name, value)
    roles = [BackendSettings(_env_file=None), ApiSettings(_env_file=None), RelaySettings(_env_file=None),
             WorkerConfig(_env_file=None)]
    assert all(s.environment == "production" and s.log_level == "DEBUG" and s.logs_as_json for s in roles)
    assert all(s.backend_url == "http://backend:8000" for s in roles[1:])
    assert roles[1].redis_key_prefix == roles[2].redis_key_prefix == "hwp"
    # A role's own variable still wins over the shared one.
    monkeypatch.setenv("HEWSTON_RELAY_BACKEND_URL", "http://other:8000")
    assert RelaySettings(_env_file=None).backend_url == "http://other:8000"
    assert ApiSettings(_env_file=None).backend_url == "http://backend:8000"
