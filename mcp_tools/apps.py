from django.apps import AppConfig


class McpToolsConfig(AppConfig):
    name = "mcp_tools"
    verbose_name = "MCP tools"

    def ready(self) -> None:
        # django-mcp-server (listed before us) has registered the tools by now.
        from mcp_tools import checks, registry  # noqa: F401 - checks register on import

        registry.build_once()
