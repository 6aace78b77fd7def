//! Every page of a paged AWS call, with the guards every listing needs, in
//! one place: the collectors and the discovery page through it.

use std::collections::BTreeSet;
use std::future::Future;

use crate::error::PollError;

/// What a listing does with more pages than its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeyondCap {
    /// Fails as an invalid response: the answer would be incomplete.
    Fail,
    /// Keeps the pages read: a listing whose first pages hold what is
    /// wanted (the latest datapoints first).
    Keep,
}

/// Every item of a paged call: `page(token)` fetches the page of a token
/// (`None` for the first) and returns its items and the answer's next token.
/// The listing ends at a page without a next token, or with an empty one (as
/// the AWS SDKs' paginators end). A token that comes a second time fails the
/// listing as an invalid response naming `operation` (made into the caller's
/// error by `invalid`): such an answer would page forever. More than
/// `max_pages` pages fail it too, or end it, as `beyond` says. An error of
/// any page fails the listing with that error.
pub async fn every_page<T, E, F, Fut>(
    operation: &str,
    (max_pages, beyond): (usize, BeyondCap),
    mut page: F,
    invalid: impl Fn(PollError) -> E,
) -> Result<Vec<T>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut all = Vec::new();
    let mut token = None;
    let mut seen = BTreeSet::new();
    for _ in 0..max_pages {
        let (items, next) = page(token.take()).await?;
        all.extend(items);
        let Some(next) = next.filter(|t| !t.is_empty()) else {
            return Ok(all);
        };
        if !seen.insert(next.clone()) {
            return Err(invalid(PollError::InvalidResponse(format!(
                "{operation}: the NextToken {next:?} came twice; the pages would never end"
            ))));
        }
        token = Some(next);
    }
    if beyond == BeyondCap::Keep {
        return Ok(all);
    }
    Err(invalid(PollError::InvalidResponse(format!(
        "{operation}: more than {max_pages} pages; the answer would be incomplete"
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages as an answer gives them: by token (`""` for the first), each
    /// with its items and next token; a token no page has is an error.
    async fn list(
        pages: &[(&str, Vec<u32>, Option<&str>)],
        max_pages: usize,
    ) -> Result<Vec<u32>, PollError> {
        let page = |token: Option<String>| {
            let token = token.unwrap_or_default();
            let found = pages.iter().find(|(t, _, _)| *t == token).cloned();
            async move {
                match found {
                    Some((_, items, next)) => Ok((items, next.map(str::to_string))),
                    None => Err(PollError::Throttled(format!("page {token:?}"))),
                }
            }
        };
        every_page("ListThings", (max_pages, BeyondCap::Fail), page, |e| e).await
    }

    #[tokio::test]
    async fn items_of_every_page_in_order_until_no_token_or_an_empty_one() {
        let pages = [
            ("", vec![1, 2], Some("a")),
            ("a", vec![3], Some("b")),
            ("b", vec![4], None),
        ];
        assert_eq!(list(&pages, 10).await.unwrap(), [1, 2, 3, 4]);
        let empty_ends = [("", vec![1], Some("a")), ("a", vec![2], Some(""))];
        assert_eq!(list(&empty_ends, 10).await.unwrap(), [1, 2]);
        assert_eq!(
            list(&pages, 3).await.unwrap(),
            [1, 2, 3, 4],
            "exactly the cap"
        );
    }

    #[tokio::test]
    async fn a_repeated_token_a_runaway_answer_and_a_failed_page_fail_the_listing() {
        let looping = [("", vec![1], Some("a")), ("a", vec![2], Some("a"))];
        let err = list(&looping, 10).await.unwrap_err();
        assert_eq!(err.reason(), "invalid_response");
        assert!(
            err.to_string()
                .contains("ListThings: the NextToken \"a\" came twice"),
            "{err}"
        );
        let long = [
            ("", vec![1], Some("a")),
            ("a", vec![2], Some("b")),
            ("b", vec![3], None),
        ];
        let err = list(&long, 2).await.unwrap_err();
        assert_eq!(err.reason(), "invalid_response");
        assert!(err.to_string().contains("more than 2 pages"), "{err}");
        let page = |token: Option<String>| {
            let token = token.unwrap_or_default();
            let found = long.iter().find(|(t, _, _)| *t == token).cloned();
            async move {
                let (_, items, next) = found.expect("a page of the answer");
                Ok::<_, PollError>((items, next.map(str::to_string)))
            }
        };
        let kept = every_page("ListThings", (2, BeyondCap::Keep), page, |e| e).await;
        assert_eq!(kept.unwrap(), [1, 2], "the first pages kept");
        let broken = [("", vec![1], Some("gone"))];
        let err = list(&broken, 10).await.unwrap_err();
        assert_eq!(err.reason(), "throttled", "the page's own error");
    }
}
