from django.apps import AppConfig


class OAuthServerConfig(AppConfig):
    name = "oauth_server"
    verbose_name = "Sign-in for MCP clients"

    def ready(self) -> None:
        from oauth_server import checks  # noqa: F401 - registers the system checks
