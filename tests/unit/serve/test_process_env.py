from config.settings import Settings
from serve.run import process_env


def test_the_servers_read_back_every_setting_the_launcher_exports(tmp_path, monkeypatch):
    settings = Settings(var_dir=tmp_path, kb_topic_min_scores={"accounts": 0.5, "products": 0.45})
    for name, value in process_env(settings).items():
        monkeypatch.setenv(name, value)
    child = Settings()  # what a server process reads from that environment
    assert child.kb_topic_min_scores == {"accounts": 0.5, "products": 0.45}
    # The rest too, but for what the launcher derives for the servers on purpose.
    derived = {"rasa_token", "widget_allowed_origins", "widget_identity_secret"}
    assert child.model_dump(exclude=derived) == settings.model_dump(exclude=derived)
