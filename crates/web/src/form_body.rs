//! Reading a posted HTML form, url-encoded or multipart (with files), the one way every form
//! with uploads is read: the form steps and the mailbox at the portal, the clerk's messages at
//! an authority node.
//!
//! Limits answer before the whole body is held: the body limit of `layers.rs` stops a large
//! body (413), and the counts here stop a body of many small parts — too many files is 413,
//! too many fields 400. A body that cannot be read as a form is 400. Files are returned as
//! sent, including the empty part a browser sends for a file input left empty: whether that
//! means "no file" is the caller's decision.

use axum::extract::{FromRequest, Multipart, Request};
use http::{StatusCode, header};

use crate::PageProblem;

/// A file as the browser sent it, before any check.
#[derive(Debug, Clone)]
pub struct PostedFile {
    /// The input name it was posted under.
    pub input: String,
    pub file_name: String,
    pub content: Vec<u8>,
}

/// A posted form: its text fields in order, and its files.
#[derive(Debug, Default)]
pub struct FormBody {
    pub fields: Vec<(String, String)>,
    pub files: Vec<PostedFile>,
}

impl FormBody {
    /// The first value of the field `name`, or "" when it was not sent.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The files that carry content (a file input left empty sends an empty part).
    pub fn chosen_files(self) -> Vec<PostedFile> {
        self.files
            .into_iter()
            .filter(|f| !f.content.is_empty())
            .collect()
    }
}

/// How many parts a form may have.
#[derive(Debug, Clone, Copy)]
pub struct FormLimits {
    pub max_fields: usize,
    pub max_files: usize,
}

/// Reads `request` as a form; see the module comment for the answers to bad bodies.
pub async fn read<S: Send + Sync>(
    request: Request,
    state: &S,
    limits: FormLimits,
) -> Result<FormBody, PageProblem> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|r| problem(r.status()))?;
        if fields.len() > limits.max_fields {
            return Err(PageProblem::BadRequest);
        }
        return Ok(FormBody {
            fields,
            files: Vec::new(),
        });
    }
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|r| problem(r.status()))?;
    let mut body = FormBody::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| problem(e.status()))?
    {
        let input = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            let content = field.bytes().await.map_err(|e| problem(e.status()))?;
            body.files.push(PostedFile {
                input,
                file_name,
                content: content.to_vec(),
            });
            if body.files.len() > limits.max_files {
                return Err(PageProblem::TooLarge);
            }
        } else {
            let value = field.text().await.map_err(|e| problem(e.status()))?;
            body.fields.push((input, value));
            if body.fields.len() > limits.max_fields {
                return Err(PageProblem::BadRequest);
            }
        }
    }
    Ok(body)
}

/// 413 stays 413 (the body limit spoke); anything else is a body that does not read as a form.
fn problem(status: StatusCode) -> PageProblem {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        PageProblem::TooLarge
    } else {
        PageProblem::BadRequest
    }
}
