//! What wasi:http's errors are called in messages, the same for the WASI 0.2 and 0.3 builds:
//! the two versions' `error-code` have the same cases, in types of their own, so the one text is
//! a macro expanded over each.

macro_rules! http_words {
    ($($types:ident)::+) => {
        use $($types)::+::ErrorCode;
        use crate::prelude::*;

        /// Words for the failures users meet; the rest by their WASI name.
        pub fn describe_http_error(error: &ErrorCode) -> String {
                    match error {
                ErrorCode::DnsError(_) => "the authority host's name did not resolve (DNS)".into(),
                ErrorCode::DnsTimeout => "the DNS lookup timed out".into(),
                ErrorCode::ConnectionRefused => "the connection was refused".into(),
                ErrorCode::ConnectionTimeout => "connecting timed out".into(),
                ErrorCode::ConnectionReadTimeout => "the response did not arrive in time".into(),
                ErrorCode::ConnectionTerminated => "the connection was closed".into(),
                ErrorCode::TlsCertificateError => {
                    "the host did not trust the authority's TLS certificate".into()
                }
                ErrorCode::HttpRequestDenied => "the host denied the outgoing request".into(),
                ErrorCode::InternalError(Some(detail)) => {
                    format!("the host's HTTP client failed: {detail}")
                }
                other => format!("wasi:http error {}", wit_name(other)),
            }
        }

        /// The error's case name in wasi:http's WIT. Written out rather than `Debug`-formatted: the
        /// derived `Debug` of the payloads would bring string escaping and Unicode tables into the
        /// component (about 5 KB).
        fn wit_name(error: &ErrorCode) -> &'static str {
            match error {
                ErrorCode::DnsTimeout => "dns-timeout",
                ErrorCode::DnsError(_) => "dns-error",
                ErrorCode::DestinationNotFound => "destination-not-found",
                ErrorCode::DestinationUnavailable => "destination-unavailable",
                ErrorCode::DestinationIpProhibited => "destination-ip-prohibited",
                ErrorCode::DestinationIpUnroutable => "destination-ip-unroutable",
                ErrorCode::ConnectionRefused => "connection-refused",
                ErrorCode::ConnectionTerminated => "connection-terminated",
                ErrorCode::ConnectionTimeout => "connection-timeout",
                ErrorCode::ConnectionReadTimeout => "connection-read-timeout",
                ErrorCode::ConnectionWriteTimeout => "connection-write-timeout",
                ErrorCode::ConnectionLimitReached => "connection-limit-reached",
                ErrorCode::TlsProtocolError => "tls-protocol-error",
                ErrorCode::TlsCertificateError => "tls-certificate-error",
                ErrorCode::TlsAlertReceived(_) => "tls-alert-received",
                ErrorCode::HttpRequestDenied => "http-request-denied",
                ErrorCode::HttpRequestLengthRequired => "http-request-length-required",
                ErrorCode::HttpRequestBodySize(_) => "http-request-body-size",
                ErrorCode::HttpRequestMethodInvalid => "http-request-method-invalid",
                ErrorCode::HttpRequestUriInvalid => "http-request-uri-invalid",
                ErrorCode::HttpRequestUriTooLong => "http-request-uri-too-long",
                ErrorCode::HttpRequestHeaderSectionSize(_) => "http-request-header-section-size",
                ErrorCode::HttpRequestHeaderSize(_) => "http-request-header-size",
                ErrorCode::HttpRequestTrailerSectionSize(_) => "http-request-trailer-section-size",
                ErrorCode::HttpRequestTrailerSize(_) => "http-request-trailer-size",
                ErrorCode::HttpResponseIncomplete => "http-response-incomplete",
                ErrorCode::HttpResponseHeaderSectionSize(_) => "http-response-header-section-size",
                ErrorCode::HttpResponseHeaderSize(_) => "http-response-header-size",
                ErrorCode::HttpResponseBodySize(_) => "http-response-body-size",
                ErrorCode::HttpResponseTrailerSectionSize(_) => "http-response-trailer-section-size",
                ErrorCode::HttpResponseTrailerSize(_) => "http-response-trailer-size",
                ErrorCode::HttpResponseTransferCoding(_) => "http-response-transfer-coding",
                ErrorCode::HttpResponseContentCoding(_) => "http-response-content-coding",
                ErrorCode::HttpResponseTimeout => "http-response-timeout",
                ErrorCode::HttpUpgradeFailed => "http-upgrade-failed",
                ErrorCode::HttpProtocolError => "http-protocol-error",
                ErrorCode::LoopDetected => "loop-detected",
                ErrorCode::ConfigurationError => "configuration-error",
                ErrorCode::InternalError(_) => "internal-error",
            }
        }
    };
}

#[cfg(not(feature = "wasi-p3"))]
http_words!(super::wasi::http::types);
#[cfg(feature = "wasi-p3")]
http_words!(super::p3::bindings::wasi::http::types);
