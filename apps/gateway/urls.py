from django.urls import path

from apps.gateway import api

urlpatterns = [
    path("services/", api.ServiceListApi.as_view(), name="service-list"),
    path("services/<slug:service>/<slug:method>/", api.call_method, name="call-method"),
    path("requests/<str:request_id>/", api.RequestDetailApi.as_view(), name="request-detail"),
]
