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


def test_a_role_given_no_backend_url_finds_the_backend_at_its_port_on_this_machine(monkeypatch):
    from api.settings import ApiSettings
    from relay.settings import RelaySettings
    from workers.settings import WorkerConfig

    for name in ("HEWSTON_BACKEND_URL", "HEWSTON_API_BACKEND_URL", "HEWSTON_RELAY_BACKEND_URL",
                 "HEWSTON_WORKER_BACKEND_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HEWSTON_PORT", "38700")
    roles = [ApiSettings(_env_file=None), RelaySettings(_env_file=None), WorkerConfig(_env_file=None)]
    assert [role.backend_url for role in roles] == ["http://127.0.0.1:38700"] * 3
    assert BackendSettings(_env_file=None).port == 38700
    # A URL that is given wins, and without HEWSTON_PORT the default port stands.
    monkeypatch.setenv("HEWSTON_BACKEND_URL", "http://backend:8000")
    assert ApiSettings(_env_file=None).backend_url == "http://backend:8000"
    monkeypatch.delenv("HEWSTON_BACKEND_URL")
    monkeypatch.delenv("HEWSTON_PORT")
    assert RelaySettings(_env_file=None).backend_url == "http://127.0.0.1:8000"


def test_secrets_come_from_files_named_like_their_variables_and_a_set_variable_wins(monkeypatch, tmp_path):
    from relay.settings import RelaySettings
    from workers.settings import WorkerConfig

    (tmp_path / "hewston_service_token").write_text("hw_from_a_file_0123456789\n")
    (tmp_path / "hewston_redis_password").write_text("p@ss/word\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("HEWSTON_SERVICE_TOKEN", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://hewston@redis:6379/0")
    roles = [BackendSettings(_env_file=None), RelaySettings(_env_file=None), WorkerConfig(_env_file=None)]
    assert [role.service_token for role in roles] == ["hw_from_a_file_0123456789"] * 3
    # The password is quoted into the URL, which names the ACL user.
    assert roles[1].redis_url == "redis://hewston:p%40ss%2Fword@redis:6379/0"
    monkeypatch.setenv("REDIS_URL", "redis+sentinel://s1:26379,s2:26379/mymaster/0")
    assert HewstonSettings(_env_file=None).redis_url == "redis+sentinel://:p%40ss%2Fword@s1:26379,s2:26379/mymaster/0"
    monkeypatch.setenv("REDIS_URL", "redis://other:given@redis:6379/0")
    assert HewstonSettings(_env_file=None).redis_url == "redis://other:given@redis:6379/0"
    monkeypatch.setenv("HEWSTON_SERVICE_TOKEN", "hw_from_the_environment_0123456789")
    assert RelaySettings(_env_file=None).service_token == "hw_from_the_environment_0123456789"
