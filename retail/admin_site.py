"""The head-office admin site: Django's admin plus a dashboard page.

Installed in place of ``django.contrib.admin`` (see ``INSTALLED_APPS``) so that
``admin.site`` and every ``@admin.register`` use this site. This module imports no
models at import time: it is loaded while the app registry is still filling.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path


class ZavaAdminSite(admin.AdminSite):
    site_header = "Zava head office"
    site_title = "Zava admin"
    index_title = "Stores, managers, access tokens and the audit"
    site_url = None  # the project has no public site to link to

    def get_urls(self) -> list[URLPattern | URLResolver]:
        dashboard = path("dashboard/", self.admin_view(self.dashboard_view), name="dashboard")
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        from retail.admin.dashboard import dashboard  # needs the models, loaded by now

        return dashboard(request, self)


class ZavaAdminConfig(AdminConfig):
    default_site = "retail.admin_site.ZavaAdminSite"
