from django.urls import path

from apps.ledger import api, usage_api

urlpatterns = [
    path("api/v1/ledger/", api.LedgerListApi.as_view(), name="ledger-list"),
    path("api/v1/ledger/summary/", api.LedgerSummaryApi.as_view(), name="ledger-summary"),
    path("api/v1/ledger/export.csv", api.LedgerExportApi.as_view(), name="ledger-export"),
    path("api/v1/usage/", usage_api.UsageApi.as_view(), name="usage"),
]
