"""URL routes: the admin and the MCP endpoint."""

from django.contrib import admin
from django.urls import path

from mcp_tools.endpoint import McpEndpointView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("mcp", McpEndpointView.as_view(), name="mcp"),
]
