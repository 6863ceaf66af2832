"""What the internal document service answers (POST /htmltopdf/), as respx returns it."""

# A one-page PDF, as the service streams it back (Content-Type: application/pdf).
SERVICE_PDF = (
    b"%PDF-1.7\n"
    b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89]>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)

# A document it cannot render: 422 with a problem body naming why.
SERVICE_REFUSED = {
    "type": "about:blank",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "The HTML could not be parsed: unexpected end of input at line 3.",
}
# Its own trouble: 503 while its renderers restart.
SERVICE_UNAVAILABLE = {"title": "Service Unavailable", "status": 503, "detail": "renderers busy"}
