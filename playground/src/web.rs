//! The JavaScript face of [`crate::Session`] and [`crate::configmap`]
//! (wasm32 only). Strings in, JSON text out; no logic of its own.

use wasm_bindgen::prelude::*;

/// One replay of a pasted or dropped text.
#[wasm_bindgen]
pub struct Playground(crate::Session);

#[wasm_bindgen]
impl Playground {
    /// See [`crate::Session::new`].
    #[wasm_bindgen(constructor)]
    pub fn new(node: &str, klog_year: i32, price: f64) -> Playground {
        Playground(crate::Session::new(node, i64::from(klog_year), price))
    }

    /// Whole lines in; a JSON array of rows out.
    pub fn feed(&mut self, text: &str) -> String {
        crate::rows_json(&self.0.feed(text))
    }

    /// End of input; the rows of CRI partial groups still open.
    pub fn finish(&mut self) -> String {
        crate::rows_json(&self.0.finish())
    }

    /// The price of the savings estimate, USD per GB.
    pub fn set_price(&mut self, price: f64) {
        self.0.set_price(price);
    }

    /// The summary exactly as `selfscrape replay` prints it.
    pub fn summary_text(&self) -> String {
        self.0.summary_text()
    }

    /// The summary's figures, as JSON.
    pub fn summary_json(&self) -> String {
        self.0.summary_json().to_string()
    }
}

/// A CloudWatch JSON document as NDJSON lines, or `undefined`.
#[wasm_bindgen]
pub fn expand_document(text: &str) -> Option<String> {
    crate::expand_document(text)
}

/// Every reason code with its verdict and description, as JSON.
#[wasm_bindgen]
pub fn reasons() -> String {
    let all: Vec<serde_json::Value> = crate::rule::Reason::all()
        .map(|r| {
            serde_json::json!({
                "code": r.code(),
                "verdict": if r.drops() { "drop" } else { "keep" },
                "describe": r.describe(),
            })
        })
        .collect();
    serde_json::Value::Array(all).to_string()
}

/// The repository's sample logs: `[{"name","node","text"}]`.
#[wasm_bindgen]
pub fn samples() -> String {
    let all: Vec<serde_json::Value> = crate::samples()
        .into_iter()
        .map(|s| serde_json::json!({"name": s.name, "node": s.node, "text": s.text}))
        .collect();
    serde_json::Value::Array(all).to_string()
}

/// `selfscrape router` on a pasted ConfigMap with the command's options
/// (empty strings: not given), and `selfscrape check` on what went in and
/// what came out: [`crate::configmap::Outcome`] as JSON.
#[wasm_bindgen]
pub fn configmap(
    text: &str,
    dry_run: bool,
    aggregator: &str,
    container: &str,
    metrics_server: &str,
) -> String {
    let request = crate::configmap::Request {
        dry_run,
        aggregator: aggregator.into(),
        container: container.into(),
        metrics_server: metrics_server.into(),
    };
    let mut out = crate::configmap::run(text, &request).to_json();
    out["command"] = request.command_line().into();
    out.to_string()
}

/// AWS's documented aws-logging ConfigMap (what the command merges without a file).
#[wasm_bindgen]
pub fn aws_default_configmap() -> String {
    crate::configmap::AWS_DEFAULT.into()
}
