//! What the WASI 0.2 and 0.3 builds do alike with wasi:http: a token request's head and
//! options, the response's head and its size limit, and what the errors are called in messages.
//! The two versions have the same functions and cases, in types of their own, so the one code is
//! a macro expanded over each; what needs no WASI type is plain functions.

use crate::prelude::*;

use crate::platform::MAX_RESPONSE_BODY_BYTES;

/// A response's headers, values decoded lossily as UTF-8 (the core looks names up ignoring case).
pub fn response_headers(entries: Vec<(String, Vec<u8>)>) -> Vec<(String, String)> {
    entries
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect()
}

/// Refuses a response whose declared length is over the limit, before a byte of it is read.
pub fn refuse_declared_length(status: u16, headers: &[(String, String)]) -> Result<(), String> {
    let declared = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_RESPONSE_BODY_BYTES as u64 => Err(too_large(status)),
        _ => Ok(()),
    }
}

/// The error of a response body over the limit.
pub fn too_large(status: u16) -> String {
    format!(
        "the response body (HTTP {status}) is larger than {} KiB",
        MAX_RESPONSE_BODY_BYTES / 1024
    )
}

macro_rules! wasi_http_common {
    ($($types:ident)::+, $request:ident) => {
        use $($types)::+::{ErrorCode, Fields, HeaderError, Method, RequestOptions, Scheme};
        use $($types)::+::$request;
        use crate::authority;
        use crate::platform::{self, HttpRequest};

        /// The token request's headers; `header_error` names a refusal's case.
        pub fn request_fields(
            request: &HttpRequest,
            header_error: fn(&HeaderError) -> &'static str,
        ) -> Result<Fields, String> {
            let headers = Fields::new();
            for (name, value) in &request.headers {
                headers.append(name, value.as_bytes()).map_err(|error| {
                    format!("the host refused the header {name}: {}", header_error(&error))
                })?;
            }
            Ok(headers)
        }

        /// Sets where the token request goes and how.
        pub fn set_target(outgoing: &$request, request: &HttpRequest) -> Result<(), String> {
            let refused = |what: &str| format!("the host refused the request {what}");
            let method = match request.method {
                platform::Method::Post => Method::Post,
                platform::Method::Get => Method::Get,
            };
            let scheme = match request.endpoint.scheme {
                authority::Scheme::Https => Scheme::Https,
                authority::Scheme::Http => Scheme::Http,
            };
            outgoing.set_method(&method).map_err(|()| refused("method"))?;
            outgoing.set_scheme(Some(&scheme)).map_err(|()| refused("scheme"))?;
            outgoing
                .set_authority(Some(&request.endpoint.host))
                .map_err(|()| refused("authority"))?;
            outgoing
                .set_path_with_query(Some(&request.endpoint.path))
                .map_err(|()| refused("path"))
        }

        /// The host's timeouts for the request. A host that does not support one refuses it; the
        /// others still apply.
        pub fn request_options(request: &HttpRequest) -> RequestOptions {
            let options = RequestOptions::new();
            let _ = options.set_connect_timeout(Some(request.timeouts.connect));
            let _ = options.set_first_byte_timeout(Some(request.timeouts.first_byte));
            let _ = options.set_between_bytes_timeout(Some(request.timeouts.between_bytes));
            options
        }

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
wasi_http_common!(super::wasi::http::types, OutgoingRequest);
#[cfg(feature = "wasi-p3")]
wasi_http_common!(super::p3::bindings::wasi::http::types, Request);
