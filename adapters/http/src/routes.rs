//! A router that remembers its routes, so that tests can enumerate them (axum's `Router`
//! cannot list what it serves) and check each one against the OpenAPI document.

use crate::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};

/// Routes under construction, with their list.
#[derive(Default)]
pub(crate) struct Routes {
    router: Router<AppState>,
    list: Vec<(Method, String)>,
}

impl Routes {
    pub(crate) fn new() -> Self {
        Self {
            router: Router::new(),
            list: Vec::new(),
        }
    }

    fn add(mut self, m: Method, path: &str, mr: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, mr);
        self.list.push((m, path.to_owned()));
        self
    }

    pub(crate) fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Self {
        self.add(Method::GET, path, get(h))
    }

    pub(crate) fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Self {
        self.add(Method::POST, path, post(h))
    }

    pub(crate) fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H) -> Self {
        self.add(Method::DELETE, path, delete(h))
    }

    pub(crate) fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.list.extend(other.list);
        self
    }

    pub(crate) fn into_parts(self) -> (Router<AppState>, Vec<(Method, String)>) {
        (self.router, self.list)
    }
}
