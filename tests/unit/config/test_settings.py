import stat

import pytest
from pydantic import ValidationError

from config.settings import ROOT, Settings


def test_defaults_put_state_under_var(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "TRACKER_DB", "KNOWLEDGE_INDEX_DIR", "EMBEDDING_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(var_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'records.db'}"
    assert settings.tracker_db == tmp_path / "tracker.db"
    assert settings.knowledge_index_dir == tmp_path / "knowledge"
    assert (settings.model_path / "config.json").exists()


def test_environment_variables_override(monkeypatch, tmp_path):
    monkeypatch.setenv("RASA_PORT", "6005")
    monkeypatch.setenv("KB_MIN_SCORE", "0.6")
    monkeypatch.setenv("KB_TOPIC_MIN_SCORES", '{"accounts": 0.5, "products": 0.45}')
    settings = Settings(var_dir=tmp_path)
    assert settings.rasa_port == 6005
    assert settings.kb_min_score == 0.6
    assert settings.kb_topic_min_scores == {"accounts": 0.5, "products": 0.45}


def test_a_topic_threshold_is_a_cosine(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_TOPIC_MIN_SCORES", '{"accounts": 1.5}')
    with pytest.raises(ValidationError):
        Settings(var_dir=tmp_path)


def test_a_token_is_generated_once_and_kept_private(tmp_path):
    settings = Settings(var_dir=tmp_path)
    token = settings.api_token()
    assert len(token) >= 40
    assert Settings(var_dir=tmp_path).api_token() == token
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
    assert Settings(var_dir=tmp_path / "other").api_token() != token


def test_a_configured_token_wins(tmp_path):
    assert Settings(var_dir=tmp_path, rasa_token="s3cret-token").api_token() == "s3cret-token"


def test_production_refuses_sqlite(tmp_path):
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(var_dir=tmp_path, environment="production")


def test_the_widget_is_allowed_on_the_demo_shop_unless_origins_are_set(tmp_path):
    settings = Settings(var_dir=tmp_path, demo_shop_port=8181)
    assert settings.widget_origins() == ["http://localhost:8181", "http://127.0.0.1:8181"]
    configured = Settings(
        var_dir=tmp_path, widget_allowed_origins=" https://shop.example/ ,https://www.shop.example,"
    )
    assert configured.widget_origins() == ["https://shop.example", "https://www.shop.example"]


def test_the_identity_secret_is_generated_once_unless_set(tmp_path):
    settings = Settings(var_dir=tmp_path)
    secret = settings.identity_secret()
    assert len(secret) >= 40 and secret != settings.api_token()
    assert Settings(var_dir=tmp_path).identity_secret() == secret
    assert stat.S_IMODE((tmp_path / "widget_identity_secret").stat().st_mode) == 0o600
    assert Settings(var_dir=tmp_path, widget_identity_secret="s3cret").identity_secret() == "s3cret"


def _documented() -> dict[str, str]:
    """docs/settings.md's table: variable -> the default column as written."""
    rows = {}
    for line in (ROOT / "docs" / "settings.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_every_setting_is_documented_with_its_default():
    """The settings object holds every default; docs/settings.md says the same, for each one."""
    documented = _documented()
    fields = {name.upper(): field for name, field in Settings.model_fields.items()}
    assert set(documented) == set(fields)
    for name, field in fields.items():
        default = field.default
        if isinstance(default, bool) or not isinstance(default, int | float | str) or not default:
            continue  # paths, secrets and "unset" are described in words
        written = documented[name].strip("`")
        if isinstance(default, str):
            assert written == default, name
        else:
            assert float(written) == default, name
