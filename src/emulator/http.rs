//! HTTP pieces every endpoint shares: bodies, JSON and error responses, the cut-body fault, request
//! ids and query parsing. No endpoint and no server state: endpoints and the server import this,
//! never the other way.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::error::ApiError;

pub(crate) type ResBody = BoxBody<Bytes, io::Error>;

/// How long a cut body waits after its first half, so the half reaches the client first.
const CUT_PAUSE: Duration = Duration::from_millis(50);
const JSON: &str = "application/json;charset=UTF-8";

/// All of `body`; empty when it fails to arrive.
pub(crate) async fn bytes_of<B: Body>(body: B) -> Bytes {
    body.collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// A body that is all in memory.
pub(crate) fn full(body: Bytes) -> ResBody {
    Full::new(body).map_err(|never| match never {}).boxed()
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<ResBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

pub(crate) fn error_response(e: &ApiError, request_id: &str) -> Response<ResBody> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, e.body(request_id).to_string().into())
}

/// An nginx-style HTML error page.
pub(crate) fn html_error(status: u16) -> Response<ResBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let line = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let page = format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n\
         <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut r = Response::new(full(Bytes::from(page)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

/// Marks a response to be cut by [`cut`] once it is encoded for the wire.
#[derive(Clone, Copy)]
pub(crate) struct Cut;

/// 200 with `json`, to be cut short on the wire (see [`cut`]).
pub(crate) fn cut_response(json: Bytes) -> Response<ResBody> {
    let mut r = json_response(StatusCode::OK, json);
    r.extensions_mut().insert(Cut);
    r
}

/// `response` declaring the full length of its (possibly compressed) body but sending only the
/// first half; the body then fails, which makes hyper close the connection.
pub(crate) async fn cut(response: Response<ResBody>) -> Response<ResBody> {
    let (parts, body) = response.into_parts();
    let body = bytes_of(body).await;
    let cut = CutBody {
        head: Some(body.slice(..body.len() / 2)),
        pause: Box::pin(tokio::time::sleep(CUT_PAUSE)),
        declared: body.len() as u64,
    };
    Response::from_parts(parts, cut.boxed())
}

struct CutBody {
    head: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
    declared: u64,
}

impl Body for CutBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        ready!(self.pause.as_mut().poll(cx));
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "emulator fault: body cut short",
        ))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.declared)
    }
}

/// 32 lower-case hex digits, like the service's request ids.
pub(crate) fn request_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// Query pairs, percent-decoded, `+` as space (form encoding, as the gateway's parser does).
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://q/?{raw}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// The first non-empty value of query parameter `name`: empty values count as absent, as the
/// service treats them.
pub(crate) fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("secret_name=s%2F%C3%A9%2A~%2B%3D%26x&task_id=t-1&a+b=c+d&flag&bad=%zz%4"),
            vec![
                ("secret_name".to_string(), "s/é*~+=&x".to_string()),
                ("task_id".into(), "t-1".into()),
                ("a b".into(), "c d".into()),
                ("flag".into(), "".into()),
                ("bad".into(), "%zz%4".into()),
            ]
        );
        let q = parse_query("limit=&limit=5");
        assert_eq!(param(&q, "limit"), Some("5"), "empty values are absent");
        assert_eq!(param(&q, "marker"), None);
    }
}
