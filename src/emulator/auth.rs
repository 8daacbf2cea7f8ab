//! Verifies `SDK-HMAC-SHA256` and `SDK-HMAC-SM3` signatures the way the API gateway does: the
//! `Authorization` prefix picks the algorithm, and the signature is recomputed with the client's
//! own [`Signer`] over the headers the request says it signed.

use super::error::ApiError;
use crate::csms::signer::{SignedRequest, Signer, SigningAlgorithm};
use time::OffsetDateTime;

/// How far `X-Sdk-Date` may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW: time::Duration = time::Duration::minutes(15);

const SDK_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// The parts of a request the signature covers.
pub struct Request<'a> {
    pub method: &'a str,
    /// Decoded path.
    pub path: &'a str,
    /// Decoded query pairs, in wire order.
    pub query: &'a [(String, String)],
    pub headers: &'a hyper::HeaderMap,
    pub body: &'a [u8],
}

/// `Ok` when `req` carries a valid signature by `signer`'s key (in either algorithm), dated within
/// [`MAX_CLOCK_SKEW`] of `now`; otherwise 401 `APIGW.0301` with a message that names the cause.
pub fn verify(signer: &Signer, req: &Request<'_>, now: OffsetDateTime) -> Result<(), ApiError> {
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let auth = header("authorization").ok_or_else(|| ApiError::auth("Authorization not found"))?;
    let (algorithm, fields) = SigningAlgorithm::from_authorization(auth)
        .ok_or_else(|| ApiError::auth("Authorization is not SDK-HMAC-SHA256 or SDK-HMAC-SM3"))?;
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in fields.split(',') {
        match part.trim().split_once('=') {
            Some(("Access", v)) => access = Some(v.trim()),
            Some(("SignedHeaders", v)) => signed = Some(v.trim()),
            Some(("Signature", v)) => signature = Some(v.trim()),
            _ => {}
        }
    }
    let (Some(access), Some(signed), Some(signature)) = (access, signed, signature) else {
        return Err(ApiError::auth(
            "Authorization lacks Access, SignedHeaders or Signature",
        ));
    };
    if access != signer.access_key() {
        return Err(ApiError::auth(format!(
            "Get secretKey failed,ak:{access},err:ak not exist"
        )));
    }

    let date = header("x-sdk-date").ok_or_else(|| ApiError::auth("X-Sdk-Date not found"))?;
    let signed_at = time::PrimitiveDateTime::parse(date, SDK_DATE)
        .map_err(|_| {
            ApiError::auth(format!(
                "X-Sdk-Date {date:?} is not in the format YYYYMMDDTHHMMSSZ"
            ))
        })?
        .assume_utc();
    if (now - signed_at).abs() > MAX_CLOCK_SKEW {
        let server = now
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(SDK_DATE).ok())
            .unwrap_or_default();
        return Err(ApiError::auth(format!(
            "signature expired (clock skew: X-Sdk-Date is more than 15 minutes from server time), \
             signature time:{date},server time:{server}"
        )));
    }

    let names: Vec<&str> = signed.split(';').collect();
    if !names.contains(&"x-sdk-date") {
        return Err(ApiError::auth("x-sdk-date is not a signed header"));
    }
    let mut headers = Vec::with_capacity(names.len());
    for name in names {
        let value = header(name).ok_or_else(|| {
            ApiError::auth(format!("signed header {name:?} is not in the request"))
        })?;
        headers.push((name.to_string(), value.to_string()));
    }
    let (_, expected) = signer.using(algorithm).signature(&SignedRequest {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: &headers,
        body: req.body,
    });
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::auth("verify aksk signature fail"))
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderMap, HeaderName, HeaderValue};

    const AK: &str = "AKTESTEXAMPLE0000001";
    const SK: &str = "SKtestExampleSecretKey0123456789abcdefgh";
    const PATH: &str = "/v1/0123456789abcdef0123456789abcdef/csms/tasks";

    /// 2024-01-02T03:04:05Z, the reference vectors' date.
    fn vector_time() -> OffsetDateTime {
        time::macros::datetime!(2024-01-02 03:04:05 UTC)
    }

    fn query() -> Vec<(String, String)> {
        [("secret_name", "a b"), ("limit", "10"), ("marker", "x")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The reference vector V1 as the gateway would receive it (plus an unsigned header).
    fn v1_headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("host", "kms.cn-north-4.myhuaweicloud.com"),
            ("x-sdk-date", "20240102T030405Z"),
            ("content-type", "application/json"),
            ("x-project-id", "0123456789abcdef0123456789abcdef"),
            ("user-agent", "not-signed/1.0"),
            ("authorization", auth),
        ] {
            h.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const V1_AUTH: &str = "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE0000001, \
        SignedHeaders=content-type;host;x-project-id;x-sdk-date, \
        Signature=b7d48358a231b80616ace72222af809b3057af0c31d6dc0f4ae6fcf86ae79f58";

    fn check(
        headers: &HeaderMap,
        query: &[(String, String)],
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        verify(
            &Signer::new(AK, SK),
            &Request {
                method: "GET",
                path: PATH,
                query,
                headers,
                body: b"",
            },
            now,
        )
    }

    fn message(r: Result<(), ApiError>) -> String {
        let e = r.unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (401, "APIGW.0301"));
        e.message
    }

    #[test]
    fn accepts_the_reference_vector() {
        check(&v1_headers(V1_AUTH), &query(), vector_time()).unwrap();
    }

    #[test]
    fn rejects_a_wrong_signature_or_changed_query() {
        let bad = V1_AUTH.replace("b7d4", "b7d5");
        assert!(
            message(check(&v1_headers(&bad), &query(), vector_time())).contains("signature fail")
        );
        let mut q = query();
        q[1].1 = "11".into();
        assert!(message(check(&v1_headers(V1_AUTH), &q, vector_time())).contains("signature fail"));
    }

    /// V1's request with an `Authorization` made by `signer`.
    fn v1_signed_by(signer: &Signer) -> HeaderMap {
        let mut headers = v1_headers("");
        let signed: Vec<(String, String)> = ["content-type", "host", "x-project-id", "x-sdk-date"]
            .iter()
            .map(|n| (n.to_string(), headers[*n].to_str().unwrap().to_string()))
            .collect();
        let auth = signer.authorization(&SignedRequest {
            method: "GET",
            path: PATH,
            query: &query(),
            headers: &signed,
            body: b"",
        });
        headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        headers
    }

    #[test]
    fn rejects_a_wrong_secret_key() {
        let headers = v1_signed_by(&Signer::new(AK, "wrong-secret"));
        assert!(message(check(&headers, &query(), vector_time())).contains("signature fail"));
    }

    #[test]
    fn accepts_sm3_by_its_prefix_and_rejects_a_mislabelled_signature() {
        let headers = v1_signed_by(&Signer::with_algorithm(AK, SK, SigningAlgorithm::HmacSm3));
        let sm3 = headers["authorization"].to_str().unwrap().to_string();
        assert!(sm3.starts_with("SDK-HMAC-SM3 "), "{sm3}");
        check(&headers, &query(), vector_time()).unwrap();

        // The SHA-256 signature of V1 under the SM3 prefix, and the other way round.
        let mislabelled = [
            V1_AUTH.replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3"),
            sm3.replace("SDK-HMAC-SM3", "SDK-HMAC-SHA256"),
        ];
        for auth in mislabelled {
            let msg = message(check(&v1_headers(&auth), &query(), vector_time()));
            assert!(msg.contains("signature fail"), "{auth}: {msg}");
        }
    }

    #[test]
    fn rejects_an_unknown_access_key_and_missing_authorization() {
        let other = V1_AUTH.replace("AKTESTEXAMPLE0000001", "AKOTHER");
        assert!(
            message(check(&v1_headers(&other), &query(), vector_time())).contains("ak not exist")
        );
        let mut h = v1_headers(V1_AUTH);
        h.remove("authorization");
        assert!(message(check(&h, &query(), vector_time())).contains("Authorization not found"));
        let basic = v1_headers("Basic dXNlcjpwYXNz");
        assert!(message(check(&basic, &query(), vector_time())).contains("SDK-HMAC-SHA256"));
    }

    #[test]
    fn clock_skew_within_15_minutes_is_accepted_beyond_is_rejected() {
        let h = v1_headers(V1_AUTH);
        for ok in [-15, 15] {
            check(&h, &query(), vector_time() + time::Duration::minutes(ok)).unwrap();
        }
        for skewed in [-16, 16, 600] {
            let msg = message(check(
                &h,
                &query(),
                vector_time() + time::Duration::minutes(skewed),
            ));
            assert!(msg.contains("clock skew"), "{msg}");
            assert!(msg.contains("signature time:20240102T030405Z"), "{msg}");
        }
    }

    #[test]
    fn missing_or_unparseable_date_is_rejected() {
        let mut h = v1_headers(V1_AUTH);
        h.insert(
            "x-sdk-date",
            HeaderValue::from_static("2024-01-02T03:04:05Z"),
        );
        assert!(message(check(&h, &query(), vector_time())).contains("YYYYMMDDTHHMMSSZ"));
        h.remove("x-sdk-date");
        assert!(message(check(&h, &query(), vector_time())).contains("X-Sdk-Date not found"));
    }

    #[test]
    fn a_signed_header_missing_from_the_request_is_rejected() {
        let mut h = v1_headers(V1_AUTH);
        h.remove("x-project-id");
        assert!(message(check(&h, &query(), vector_time())).contains("x-project-id"));
    }
}
