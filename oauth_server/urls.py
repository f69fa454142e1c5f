"""Routes under /o/, in django-oauth-toolkit's namespace (its metadata reverses them)."""

from django.contrib.auth import views as auth
from django.urls import path, reverse_lazy
from oauth2_provider import views as toolkit

from oauth_server import views

app_name = "oauth2_provider"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    # A manager invited by head office sets the password of its sign-in account here
    # (Django's password-reset views and the admin's templates).
    path(
        "invite/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("oauth2_provider:invite-complete"),
            extra_context={"site_header": "Zava head office"},
        ),
        name="invite-confirm",
    ),
    path("invite/done/", auth.PasswordResetCompleteView.as_view(), name="invite-complete"),
    path("authorize/", views.ConsentView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", toolkit.RevokeTokenView.as_view(), name="revoke-token"),
    # RFC 7591; answers 404 while ZAVA_OAUTH_DYNAMIC_REGISTRATION is off.
    path("register/", views.RegistrationView.as_view(), name="dcr-register"),
    # RFC 7592: a registered client reads or updates itself with its registration token.
    path(
        "register/<str:client_id>/",
        views.RegistrationManagementView.as_view(),
        name="dcr-register-management",
    ),
]
