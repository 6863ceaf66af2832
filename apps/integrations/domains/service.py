"""The domains service: find, register and manage domain names at registrars.

This docstring is the contract between the service and its registrar adapters (GoDaddy,
Namecheap, the offline sandbox); change it on purpose, in the same commit as the code.

Names are lower-case IDNA ASCII (the serializers normalise them), money is Decimal with an
ISO 4217 currency, dates ISO 8601.

Client-facing methods (request -> response `data`):
  check_availability  {domain} -> {domain, available, price, currency, provider}. Every usable
      registrar is asked at once (fan_out); the answer is the cheapest available offer; none
      available -> available false, price/currency/provider null. Idempotent and cacheable.
  create_registration_intention  {domain} -> 201 {intention_id, domain, provider, price,
      currency, schema}. fan_out like check; nowhere available -> 422 with errors.domain.
      `schema` is the JSON Schema of the form submit takes (registrant_form.form_schema of
      the winner's schema_extra). The intention is stored with the ledger row.
  submit_registration_intention  {intention_id, registrant_contact, agreed_agreements?,
      period? (1-10, default 1), dns_records?, client_ip?} -> {intention_id, domain,
      provider, registered, order_id, total, currency}. Unknown or another client's
      intention -> 404; finished -> 409; the form is checked against the intention's schema
      (400 naming the field); pinned to the intention's registrar. Not idempotent. Stores the
      purchase, the ownership and the sub-account; then a task sets the initial DNS records
      (dns_records, or the DOMAINS_DEFAULT_DNS_RECORDS setting; none -> no task).
  get  {domain} -> {domain, provider, status, expires_at, renew_auto, nameservers}
  renew  {domain, period?} -> {domain, provider, order_id, total, currency}. Not idempotent.
  set_dns  {domain, records: [{type, name, data, ttl?, priority?}]} -> {domain, provider,
      records}. type: A AAAA CNAME MX TXT NS SRV (MX/SRV need priority; SRV data is
      'weight port target' and name '_service._proto[.host]').
  get/renew/set_dns are pinned to the registrar holding the domain for this client (404 when
  the client holds no such domain; that registrar down -> 503, never another).

What a registrar adapter implements: subclass providers.base.RegistrarAdapter (service
"domains"), set `tlds` (the TLDs it sells; None = any) and implement these `@provides`
coroutines; the service adds `provider` to every answer itself.
  check_availability({domain}) -> {domain, available, price: Decimal|None, currency|None}
      A TLD it does not sell is `available: False` (RegistrarAdapter answers that for `tlds`).
  create_registration_intention({domain}) -> {domain, available, price, currency,
      schema_extra: {properties: {...}, required: [...]}}: what it adds to the base form.
  submit_registration_intention({intention_id, domain, period, registrant_contact,
      agreed_agreements, price, currency, client_id, client_slug, client_ip, account, dns_records})
      -> {domain, registered: True, order_id, total: Decimal, currency, account: dict|None}.
      client_ip may be None: use context.source_ip (CallContext). `account` in is the
      sub-account stored for this client at this registrar (None: none yet); out, the one to
      store (created or the same; its values strings, stored encrypted, never shown to the
      client), or None for registrars without sub-accounts. registrant_contact is
      {first_name, last_name, email, phone (E.164), organization?, address: {line1, line2?,
      city, region, postal_code, country}}; the operator's own tech/billing/admin contact is
      settings.DOMAINS_OPERATOR_CONTACT (same shape; {} when unset).
  get({domain, account}) -> {domain, status, expires_at: datetime|str|None, renew_auto,
      nameservers: [..]}
  renew({domain, period, account}) -> {domain, order_id, total, currency, expires_at?}
  set_dns({domain, records, account}) -> {domain, records}
Faults: down/5xx/auth/quota -> ProviderFault (through `send()`); the registrar refusing the
input (taken, invalid contact, TLD not sold) -> InvalidInput with errors keyed by our field
names where possible; the domain not set up yet at set_dns -> errors.DomainNotReady (the DNS
task retries after 2, 4, 8, 16, 32 s).
"""

from apps.catalog.registry import MethodSpec, ServiceDefinition, registry
from apps.integrations.domains import flow
from apps.integrations.domains import serializers as s


@registry.service
class DomainsService(ServiceDefinition):
    slug = "domains"
    name = "Domains"
    description = "Domain names: availability, registration and management at registrars."

    check_availability = MethodSpec(
        request=s.DomainRequest,
        response=s.CheckAvailabilityResponse,
        summary="Is a domain available, and where is it cheapest",
        description="Every registrar is asked at once; the cheapest available offer wins.",
        cacheable=True,
        fan_out=flow.cheapest_available,
        present=flow.present_offer,
    )
    create_registration_intention = MethodSpec(
        request=s.DomainRequest,
        response=s.CreateIntentionResponse,
        summary="Reserve the right to register a domain at its cheapest registrar",
        description=(
            "Answers 201 with the intention's id and the JSON Schema of the registrant form; "
            "422 when no registrar has the domain available."
        ),
        success_status=201,
        fan_out=flow.intention_from_cheapest,
        present=flow.present_intention,
        on_recorded=flow.intention_recorded,
    )
    submit_registration_intention = MethodSpec(
        request=s.SubmitIntentionRequest,
        response=s.SubmitIntentionResponse,
        summary="Register the domain of an intention",
        description=(
            "Buys the domain at the intention's registrar. 404 for an unknown intention, 409 "
            "for one already finished, 400 when the form does not match its schema."
        ),
        idempotent=False,
        prepare=flow.prepare_submit,
        present=flow.present_purchase,
        on_recorded=flow.purchase_recorded,
    )
    get = MethodSpec(
        request=s.DomainRequest,
        response=s.GetDomainResponse,
        summary="A registered domain's status, expiry and name servers",
        prepare=flow.prepare_held,
        present=flow.present_with_provider,
        on_recorded=flow.expiry_recorded,
    )
    renew = MethodSpec(
        request=s.RenewRequest,
        response=s.RenewResponse,
        summary="Renew a registered domain",
        idempotent=False,
        prepare=flow.prepare_held,
        present=flow.present_with_provider,
        on_recorded=flow.expiry_recorded,
    )
    set_dns = MethodSpec(
        request=s.SetDnsRequest,
        response=s.SetDnsResponse,
        summary="Replace DNS records of a registered domain",
        description="Replaces the records of each type given; other types are left alone.",
        prepare=flow.prepare_held,
        present=flow.present_with_provider,
    )
