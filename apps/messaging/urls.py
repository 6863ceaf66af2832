from django.urls import path

from apps.messaging import api

urlpatterns = [
    path("<slug:provider>/", api.ProviderWebhookApi.as_view(), name="provider-webhook"),
]
