from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.catalog.registry import registry
from apps.gateway import api
from apps.gateway.views import MethodCallViewSet, service_viewset

# POST /api/v1/services/{service}/{method}/: a ViewSet per service, an action per method.
calls = SimpleRouter(use_regex_path=False)
for slug, service in registry.services.items():
    calls.register(f"services/{slug}", service_viewset(service), basename=f"call-{slug}")

urlpatterns = [
    path("services/", api.ServiceListApi.as_view(), name="service-list"),
    *calls.urls,
    # Any other service or method: the pipeline answers it (its 401, or its 404 problem).
    path(
        "services/<slug:service>/<slug:method>/",
        MethodCallViewSet.as_view({"post": "call"}),
        name="call-method",
    ),
    path("requests/<str:request_id>/", api.RequestDetailApi.as_view(), name="request-detail"),
]
