//! A redirect, described the same way whichever endpoint answered it (CSMS, IAM, the ECS
//! metadata service, IAM's agency exchange): no request of the provider follows one, because a
//! signed request, a session token or a security token must not travel to another host.

use std::fmt;

use reqwest::header::{HeaderMap, LOCATION};

use super::text;

/// Longest `Location` quoted, in characters: a URL a person can check, not a page of text.
const LOCATION_CHARS: usize = 200;

/// A 3xx answer: the URL asked, the status, and where it pointed (cleaned and cut short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
}

impl Redirect {
    /// The redirect `url` answered with `status` and `headers`, or `None` for any other status.
    pub fn of(url: &str, status: u16, headers: &HeaderMap) -> Option<Redirect> {
        (300..400).contains(&status).then(|| Redirect {
            url: url.to_string(),
            status,
            location: headers
                .get(LOCATION)
                .map(|v| text::excerpt(String::from_utf8_lossy(v.as_bytes()), LOCATION_CHARS))
                .filter(|v| !v.is_empty()),
        })
    }
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {}, a redirect ", self.url, self.status)?;
        match &self.location {
            Some(l) => write!(f, "to {l}")?,
            None => f.write_str("without a Location header")?,
        }
        f.write_str("; redirects are not followed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_names_its_location_cleaned() {
        let mut headers = HeaderMap::new();
        // U+202E (a bidi override), as a header's bytes may carry it.
        let location = "http://elsewhere/\u{202e}x".as_bytes();
        headers.insert(
            LOCATION,
            reqwest::header::HeaderValue::from_bytes(location).unwrap(),
        );
        let r = Redirect::of("http://169.254.169.254/x", 302, &headers).unwrap();
        assert_eq!(
            r.to_string(),
            "http://169.254.169.254/x answered HTTP 302, a redirect to http://elsewhere/\u{fffd}x; \
             redirects are not followed"
        );
        assert_eq!(Redirect::of("u", 200, &headers), None);
        let bare = Redirect::of("u", 307, &HeaderMap::new()).unwrap();
        assert!(bare
            .to_string()
            .contains("a redirect without a Location header"));
    }
}
