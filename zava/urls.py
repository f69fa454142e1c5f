"""URL routes: the admin, the MCP endpoint, health probes and metrics."""

from django.contrib import admin
from django.urls import path

from mcp_tools.endpoint import McpEndpointView
from zava import health
from zava.observability.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("mcp", McpEndpointView.as_view(), name="mcp"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
]
