//! Errors of API calls: the apiserver's `Status`, or what went wrong before
//! one could be read.

use api_types::meta::v1::Status;

/// What an API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The apiserver answered with an error `Status` (404 NotFound, 409
    /// Conflict, 410 Expired, 422 Invalid ...).
    #[error("{} ({})", .0.message, .0.reason)]
    Api(Box<Status>),
    /// The request did not get an answer (connection refused, timeout ...).
    #[error("request to the apiserver failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The answer was not what the API promises.
    #[error("cannot decode the apiserver's answer: {0}")]
    Decode(String),
    /// The client was set up wrongly (kubeconfig, URL).
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The `Status` of an API error.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Api(s) => Some(s),
            _ => None,
        }
    }

    /// The HTTP code of an API error.
    pub fn code(&self) -> Option<u16> {
        self.status().and_then(|s| u16::try_from(s.code).ok())
    }

    /// The `reason` of an API error (`NotFound`, `Conflict` ...).
    pub fn reason(&self) -> Option<&str> {
        self.status().map(|s| s.reason.as_str())
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// 409 with reason `Conflict`: the object changed since it was read.
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409) && self.reason() == Some("Conflict")
    }

    /// 422 `Invalid`: the object (or the change) was refused as invalid;
    /// also what a patch carrying another object's `metadata.uid` gets.
    pub fn is_invalid(&self) -> bool {
        self.code() == Some(422)
    }

    pub fn is_already_exists(&self) -> bool {
        self.reason() == Some("AlreadyExists")
    }

    /// 410 Gone / reason `Expired`: the resourceVersion asked for is
    /// compacted away; list again.
    pub fn is_gone(&self) -> bool {
        self.code() == Some(410) || matches!(self.reason(), Some("Expired" | "Gone"))
    }

    /// Worth retrying as is: the apiserver was unreachable, overloaded or
    /// timed out.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Http(_) => true,
            Error::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// An error `Status` built on the client side.
    pub(crate) fn api(code: u16, reason: &str, message: String) -> Error {
        Error::Api(Box::new(Status {
            api_version: "v1".into(),
            kind: "Status".into(),
            status: "Failure".into(),
            message,
            reason: reason.into(),
            code: i32::from(code),
            ..Status::default()
        }))
    }
}
