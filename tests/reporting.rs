//! What operators read: escaped log text, outcome labels, counter names.

// Tests assert by panicking; the no-trap lints guard the module, not its tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;
use cobrowse_l7_firewall::config::Mode;
use cobrowse_l7_firewall::decision::{Decision, DenyReason, SPA_INDEX};
use cobrowse_l7_firewall::log_escape::escape;
use cobrowse_l7_firewall::outcome::{
    allowed_counter_name, counter_name, detail, DecisionNames, Outcome, Record,
};
use cobrowse_l7_firewall::path_check::RejectReason;
use common::*;

#[test]
fn log_text_cannot_forge_lines_or_flood() {
    let rows: &[(&[u8], usize, &str)] = &[
        (b"/api/1/devices", 256, "/api/1/devices"),
        (b"/a\r\nfake: line", 256, "/a\\x0d\\x0afake: line"),
        (b"/a\"b\\c", 256, "/a\\x22b\\x5cc"),
        (b"/\x00\x1f\x7f\x80\xff", 256, "/\\x00\\x1f\\x7f\\x80\\xff"),
        (b"/\xef\xbc\x8f", 256, "/\\xef\\xbc\\x8f"),
        (b"/0123456789", 4, "/012...(+7 bytes)"),
        (b"", 16, ""),
    ];
    for (input, max, expected) in rows {
        assert_eq!(escape(input, *max), *expected);
    }
    let long = vec![b'a'; 60 * 1024];
    assert_eq!(escape(&long, 256).len(), 256 + "...(+61184 bytes)".len());
}

#[test]
fn labels_say_what_would_have_happened_in_dry_run() {
    let rows = [
        (Outcome::Allowed, "allowed", "allowed"),
        (Outcome::Denied, "denied", "dry_run_denied"),
        (Outcome::Rewritten, "rewritten", "dry_run_rewritten"),
        (Outcome::Rejected, "rejected", "dry_run_rejected"),
        (
            Outcome::MethodNotAllowed,
            "method_not_allowed",
            "dry_run_method_not_allowed",
        ),
    ];
    for (outcome, enforce, dry_run) in rows {
        assert_eq!(outcome.label(Mode::Enforce), enforce);
        assert_eq!(outcome.label(Mode::DryRun), dry_run);
    }
}

#[test]
fn details_name_the_group_or_the_reason() {
    let int = firewall(INTERNAL);
    let rows: &[(&str, &[u8], bool, &str)] = &[
        ("GET", b"/api/1/x", false, "agent"),
        ("GET", b"/static/a.js", false, "frontend"),
        ("GET", b"/dash", false, "spa"),
        ("POST", b"/dash", false, "spa"),
        ("GET", b"/dash", true, "upgrade_not_allowed"),
        ("GET", b"/a/%2e%2e/b", false, "encoded_dot"),
    ];
    for (method, target, upgrade, expected) in rows {
        let d = decide(&int, method, target, *upgrade);
        assert_eq!(
            detail(&int.policy, &d),
            *expected,
            "{method} {:?}",
            String::from_utf8_lossy(target)
        );
    }
    let ext = firewall(EXTERNAL);
    assert_eq!(
        detail(&ext.policy, &decide(&ext, "GET", b"/admin", false)),
        "not_covered"
    );
}

#[test]
fn counter_names_sit_under_the_plugin_prefix() {
    assert_eq!(
        counter_name("external", Outcome::Denied.label(Mode::Enforce)),
        "cobrowse_l7fw.external.denied"
    );
    assert_eq!(
        allowed_counter_name("external", "sdk"),
        "cobrowse_l7fw.external.allowed.sdk"
    );
}

/// The shipped access logs take a decision from `%RESPONSE_CODE_DETAILS%` when it matches
/// `^(denied|rejected|method_not_allowed):`, and from filter state otherwise. Every
/// enforced refusal (a local reply) must match; nothing that is forwarded may.
#[test]
fn local_reply_labels_are_what_the_access_log_expects() {
    let yaml = std::fs::read_to_string("envoy/external.yaml").unwrap();
    let internal = std::fs::read_to_string("envoy/internal.yaml").unwrap();
    let pattern = "response.code_details.matches('^(denied|rejected|method_not_allowed):')";
    assert!(yaml.contains(pattern) && internal.contains(pattern));
    let answered_locally = ["denied", "rejected", "method_not_allowed"];
    for outcome in Outcome::REFUSALS.iter().chain([&Outcome::Allowed]) {
        for mode in [Mode::Enforce, Mode::DryRun] {
            let label = outcome.label(mode);
            let local_reply =
                mode == Mode::Enforce && !matches!(outcome, Outcome::Allowed | Outcome::Rewritten);
            assert_eq!(
                answered_locally.contains(&label),
                local_reply,
                "{label} in {mode:?}"
            );
        }
    }
}

/// The variants of a fieldless enum, listed once and matched without a wildcard: a new
/// variant stops this compiling until it is listed here.
macro_rules! every {
    ($enum:ident { $($variant:ident),* $(,)? }) => {{
        let _exhaustive = |v: $enum| match v {
            $($enum::$variant => ()),*
        };
        [$($enum::$variant),*]
    }};
}

/// The decision names are made from `ALL`: a reason missing there would have none.
#[test]
fn reason_lists_are_complete() {
    let deny = every!(DenyReason {
        NotCovered,
        UpgradeNotAllowed,
    });
    assert_eq!(deny.as_slice(), DenyReason::ALL.as_slice());
    let reject = every!(RejectReason {
        MissingPath,
        EmptyPath,
        NoLeadingSlash,
        DoubleSlash,
        DotSegment,
        EncodedDot,
        EncodedSlash,
        EncodedBackslash,
        DoubleEncoded,
        BadPercentEncoding,
        EncodedControl,
        InvalidUtf8,
        Lookalike,
        Backslash,
        Fragment,
        Semicolon,
        Space,
        ControlByte,
        NonAscii,
        QueryByte,
    });
    assert_eq!(reject.as_slice(), RejectReason::ALL.as_slice());
}

/// What a request looks up is what formatting it would have written, for every decision.
#[test]
fn decision_names_are_label_and_detail() {
    for json in [INTERNAL, EXTERNAL] {
        let fw = firewall(json);
        let policy = &fw.policy;
        let mut decisions: Vec<Decision> = (0..=policy.routes().len())
            .map(|route| Decision::Allow { route })
            .collect();
        decisions.extend(DenyReason::ALL.map(Decision::Deny));
        decisions.extend(RejectReason::ALL.map(Decision::Reject));
        decisions.push(Decision::Rewrite {
            path: SPA_INDEX.to_vec(),
        });
        decisions.push(Decision::MethodNotAllowed);
        for mode in [Mode::Enforce, Mode::DryRun] {
            let names = DecisionNames::new(policy, mode);
            for d in &decisions {
                let expected = format!("{}:{}", Outcome::of(d).label(mode), detail(policy, d));
                assert_eq!(names.details(d), expected, "{d:?} in {mode:?}");
            }
        }
    }
    let int = firewall(INTERNAL);
    let dry_run = DecisionNames::new(&int.policy, Mode::DryRun);
    let enforce = DecisionNames::new(&int.policy, Mode::Enforce);
    let rows = [
        (
            decide(&int, "GET", b"/api/1/x", false),
            "allowed:agent",
            "allowed:agent",
        ),
        (
            decide(&int, "GET", b"/a/%2e%2e/b", false),
            "rejected:encoded_dot",
            "dry_run_rejected:encoded_dot",
        ),
        (
            decide(&int, "POST", b"/dash", false),
            "method_not_allowed:spa",
            "dry_run_method_not_allowed:spa",
        ),
        (
            decide(&int, "GET", b"/dash", true),
            "denied:upgrade_not_allowed",
            "dry_run_denied:upgrade_not_allowed",
        ),
        (
            decide(&int, "GET", b"/dash", false),
            "rewritten:spa",
            "dry_run_rewritten:spa",
        ),
    ];
    for (d, enforced, dry) in rows {
        assert_eq!(enforce.details(&d), enforced);
        assert_eq!(dry_run.details(&d), dry);
    }
}

#[test]
fn filter_state_is_written_only_where_nothing_cheaper_carries_the_decision() {
    let allow = Decision::Allow { route: 0 };
    let rewrite = Decision::Rewrite {
        path: SPA_INDEX.to_vec(),
    };
    let deny = Decision::Deny(DenyReason::NotCovered);
    let reject = Decision::Reject(RejectReason::EncodedDot);
    let no = Decision::MethodNotAllowed;
    // (decision, mode, filter_state, where the access log finds the decision)
    let rows: &[(&Decision, Mode, bool, Record)] = &[
        (&allow, Mode::Enforce, false, Record::Nothing),
        (&allow, Mode::Enforce, true, Record::Decision),
        (&allow, Mode::DryRun, false, Record::Nothing),
        (&allow, Mode::DryRun, true, Record::Decision),
        (
            &rewrite,
            Mode::Enforce,
            false,
            Record::DecisionAndOriginalPath,
        ),
        (
            &rewrite,
            Mode::Enforce,
            true,
            Record::DecisionAndOriginalPath,
        ),
        (&rewrite, Mode::DryRun, false, Record::Decision),
        (&deny, Mode::Enforce, true, Record::InLocalReply),
        (&reject, Mode::Enforce, false, Record::InLocalReply),
        (&no, Mode::Enforce, true, Record::InLocalReply),
        (&deny, Mode::DryRun, false, Record::Decision),
        (&reject, Mode::DryRun, true, Record::Decision),
        (&no, Mode::DryRun, false, Record::Decision),
    ];
    for (decision, mode, filter_state, expected) in rows {
        assert_eq!(
            Record::of(decision, *mode, *filter_state),
            *expected,
            "{decision:?} {mode:?} filter_state={filter_state}"
        );
    }
}
