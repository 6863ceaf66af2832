"""Namecheap's answers as its command pages document them (https://www.namecheap.com/support/api/).

Every answer is the ApiResponse envelope; success bodies follow each page's "Example Response",
error bodies its "Error Codes" table in the same envelope with Status="ERROR".
"""

NAMECHEAP_URL = "https://api.namecheap.com/xml.response"
CREDENTIALS = {
    "api_user": "acmeapi",
    "api_key": "nc-secret-key-0123456789",
    "username": "acmeapi",
    "client_ip": "203.0.113.7",
}


def envelope(command: str, body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<ApiResponse Status="OK" xmlns="http://api.namecheap.com/xml.response">
  <Errors />
  <Warnings />
  <RequestedCommand>{command.lower()}</RequestedCommand>
  <CommandResponse Type="{command}">
    {body}
  </CommandResponse>
  <Server>PHX01APIEXT02</Server>
  <GMTTimeDifference>--4:00</GMTTimeDifference>
  <ExecutionTime>1.358</ExecutionTime>
</ApiResponse>""".encode()


def error(command: str, number: int, text: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<ApiResponse Status="ERROR" xmlns="http://api.namecheap.com/xml.response">
  <Errors>
    <Error Number="{number}">{text}</Error>
  </Errors>
  <Warnings />
  <RequestedCommand>{command.lower()}</RequestedCommand>
  <Server>PHX01APIEXT01</Server>
  <GMTTimeDifference>--4:00</GMTTimeDifference>
  <ExecutionTime>0.011</ExecutionTime>
</ApiResponse>""".encode()


def check(domain: str, *, available: bool, premium_price: str | None = None) -> bytes:
    premium = premium_price is not None
    return envelope(
        "namecheap.domains.check",
        f'<DomainCheckResult Domain="{domain}" Available="{str(available).lower()}" '
        f'ErrorNo="0" Description="" IsPremiumName="{str(premium).lower()}" '
        f'PremiumRegistrationPrice="{premium_price or "0"}" PremiumRenewalPrice="0" '
        f'PremiumRestorePrice="0" PremiumTransferPrice="0" '
        f'IcannFee="{"0.18" if premium else "0"}" EapFee="0" />',
    )


def pricing(tld: str, price: str, additional: str = "0.18") -> bytes:
    """getPricing with ProductType=DOMAIN, ActionName=REGISTER, ProductName=<tld>."""
    prices = "".join(
        f'<Price Duration="{years}" DurationType="YEAR" Price="{price}" '
        f'PricingType="MULTIPLE" AdditionalCost="{additional}" RegularPrice="{price}" '
        f'RegularPricingType="MULTIPLE" RegularAdditionalCost="{additional}" '
        f'YourPrice="{price}" YourPricingType="MULTIPLE" YourAdditonalCost="{additional}" '
        f'PromotionPrice="0.0" Currency="USD" />'
        for years in (1, 2)
    )
    return envelope(
        "namecheap.users.getPricing",
        '<UserGetPricingResult><ProductType Name="domains">'
        f'<ProductCategory Name="register"><Product Name="{tld}">{prices}</Product>'
        "</ProductCategory></ProductType></UserGetPricingResult>",
    )


def created(domain: str, charged: str = "9.0600") -> bytes:
    return envelope(
        "namecheap.domains.create",
        f'<DomainCreateResult Domain="{domain}" Registered="true" ChargedAmount="{charged}" '
        'DomainID="9007" OrderID="196074" TransactionID="380716" WhoisguardEnable="false" '
        'FreePositiveSSL="false" NonRealTimeDomain="false" />',
    )


def info(domain: str) -> bytes:
    return envelope(
        "namecheap.domains.getInfo",
        f'<DomainGetInfoResult Status="Ok" ID="736542" DomainName="{domain}" '
        'OwnerName="acmeapi" IsOwner="true" IsPremium="false">'
        "<DomainDetails><CreatedDate>09/05/2026</CreatedDate>"
        "<ExpiredDate>09/05/2027</ExpiredDate><NumYears>0</NumYears></DomainDetails>"
        '<LockDetails /><Whoisguard Enabled="NotAlloted"><ID>0</ID></Whoisguard>'
        '<DnsDetails ProviderType="FREE" IsUsingOurDNS="true" HostCount="2" EmailType="FWD" '
        'DynamicDNSStatus="false" IsFailover="false">'
        "<Nameserver>dns1.registrar-servers.com</Nameserver>"
        "<Nameserver>dns2.registrar-servers.com</Nameserver></DnsDetails>"
        '<Modificationrights All="true" /></DomainGetInfoResult>',
    )


def renewed(domain: str) -> bytes:
    return envelope(
        "namecheap.domains.renew",
        f'<DomainRenewResult DomainName="{domain}" DomainID="151378" Renew="true" '
        'OrderID="109116" TransactionID="119569" ChargedAmount="13.1600">'
        "<DomainDetails><ExpiredDate>4/30/2028 11:31:13 AM</ExpiredDate>"
        "<NumYears>0</NumYears></DomainDetails></DomainRenewResult>",
    )


def hosts(domain: str) -> bytes:
    """getHosts: the real service writes <host>, lower case (the page shows <Host>)."""
    return envelope(
        "namecheap.domains.dns.getHosts",
        f'<DomainDNSGetHostsResult Domain="{domain}" EmailType="FWD" IsUsingOurDNS="true">'
        '<host HostId="12" Name="@" Type="A" Address="192.0.2.1" MXPref="10" TTL="1800" '
        'AssociatedAppTitle="" FriendlyName="" IsActive="true" IsDDNSEnabled="false" />'
        '<host HostId="14" Name="www" Type="CNAME" Address="example.net." MXPref="10" '
        'TTL="1800" AssociatedAppTitle="" FriendlyName="" IsActive="true" '
        'IsDDNSEnabled="false" />'
        '<host HostId="15" Name="go" Type="URL" Address="https://example.net/go" '
        'MXPref="10" TTL="1800" AssociatedAppTitle="" FriendlyName="" IsActive="true" '
        'IsDDNSEnabled="false" />'
        "</DomainDNSGetHostsResult>",
    )


def hosts_set(domain: str, success: bool = True) -> bytes:
    return envelope(
        "namecheap.domains.dns.setHosts",
        f'<DomainDNSSetHostsResult Domain="{domain}" IsSuccess="{str(success).lower()}">'
        "<Warnings /></DomainDNSSetHostsResult>",
    )


BALANCES = envelope(
    "namecheap.users.getBalances",
    '<UserGetBalancesResult Currency="USD" AvailableBalance="4932.96" '
    'AccountBalance="4932.96" EarnedAmount="381.70" WithdrawableAmount="1243.36" '
    'FundsRequiredForAutoRenew="0.00" />',
)

IP_NOT_WHITELISTED = (1011150, "Invalid request IP: 198.51.100.9")
API_KEY_INVALID = (1011102, "API Key is invalid or API access has not been enabled")
