from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core import health, landing
from apps.core.problems import not_found_view
from apps.monitoring import views as monitoring

handler404 = "apps.core.problems.not_found_view"
handler500 = "apps.core.problems.server_error_view"

admin.site.site_header = "Service Gateway"
admin.site.site_title = "Service Gateway admin"
admin.site.index_title = "Catalog, clients and ledger"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.gateway.urls")),
    path("api/v1/webhooks/", include("apps.messaging.urls")),
    path("", include("apps.ledger.urls")),  # ledger, summary, export, usage
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", monitoring.metrics, name="metrics"),
    path("", landing.landing, name="landing"),
    # Unknown API routes answer problem+json even with DEBUG on, whatever the HTTP method: not
    # exempt, a POST got Django's CSRF page (403, HTML) instead of the 404.
    re_path(r"^api/", csrf_exempt(not_found_view)),
]
