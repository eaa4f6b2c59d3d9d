//! The transition table of DOMAIN.md section 3 as data: which status may
//! follow which, and who may make the move. Anything else is refused.

use crate::access::Viewer;
use crate::registry::Role;

/// Who may make a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Operator,
    /// The executor the appeal is assigned to, or an operator.
    AssignedOrOperator,
    /// Only the executor the appeal is assigned to.
    Assigned,
}

pub struct Transition {
    pub from: &'static [&'static str],
    pub to: &'static str,
    pub by: Actor,
}

pub const TRANSITIONS: &[Transition] = &[
    Transition {
        from: &["submitted"],
        to: "registered",
        by: Actor::Operator,
    },
    Transition {
        from: &["submitted"],
        to: "spam",
        by: Actor::Operator,
    },
    Transition {
        from: &["submitted"],
        to: "duplicate",
        by: Actor::Operator,
    },
    Transition {
        from: &["registered"],
        to: "forwarded",
        by: Actor::Operator,
    },
    Transition {
        from: &["registered"],
        to: "in_progress",
        by: Actor::AssignedOrOperator,
    },
    Transition {
        from: &["registered", "in_progress"],
        to: "extended",
        by: Actor::Operator,
    },
    Transition {
        from: &["in_progress", "extended"],
        to: "answered",
        by: Actor::Assigned,
    },
    Transition {
        from: &["registered", "in_progress"],
        to: "rejected",
        by: Actor::Operator,
    },
    Transition {
        from: &["answered"],
        to: "in_progress",
        by: Actor::Operator,
    },
    Transition {
        from: &["answered", "forwarded", "duplicate", "rejected"],
        to: "closed",
        by: Actor::Operator,
    },
];

pub const STATUSES: &[&str] = &[
    "submitted",
    "registered",
    "forwarded",
    "in_progress",
    "extended",
    "answered",
    "rejected",
    "spam",
    "duplicate",
    "closed",
];

/// Open311's two states: closed once the city has given its answer.
pub fn open311_status(status: &str) -> &'static str {
    match status {
        "answered" | "closed" | "forwarded" | "duplicate" | "rejected" => "closed",
        _ => "open",
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The table has no such move from the current status (409).
    NotAllowed {
        from: String,
        to: String,
        allowed: Vec<&'static str>,
    },
    /// The move exists but the caller may not make it (403).
    Forbidden(&'static str),
}

/// Checks a move for `viewer` on an appeal assigned to `executor_id`.
pub fn check(from: &str, to: &str, viewer: &Viewer, executor_id: Option<i64>) -> Result<(), Refusal> {
    let Some(t) = TRANSITIONS.iter().find(|t| t.to == to && t.from.contains(&from)) else {
        let allowed = TRANSITIONS
            .iter()
            .filter(|t| t.from.contains(&from))
            .map(|t| t.to)
            .collect();
        return Err(Refusal::NotAllowed {
            from: from.into(),
            to: to.into(),
            allowed,
        });
    };
    let operator = viewer.has(Role::AppealsOperator);
    let assigned = viewer.has(Role::Executor) && viewer.executor_id.is_some() && viewer.executor_id == executor_id;
    match t.by {
        Actor::Operator if operator => Ok(()),
        Actor::Operator => Err(Refusal::Forbidden("only the appeals office makes this move")),
        Actor::AssignedOrOperator if operator || assigned => Ok(()),
        Actor::AssignedOrOperator => Err(Refusal::Forbidden(
            "only the assigned executor or the appeals office makes this move",
        )),
        Actor::Assigned if assigned => Ok(()),
        Actor::Assigned => Err(Refusal::Forbidden(
            "only the executor the appeal is assigned to answers it",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(roles: &[Role], executor: Option<i64>) -> Viewer {
        Viewer {
            roles: roles.to_vec(),
            executor_id: executor,
            actor: Some("user:t".into()),
            ..Viewer::default()
        }
    }

    #[test]
    fn every_move_of_the_table_and_nothing_else() {
        let op = viewer(&[Role::AppealsOperator], None);
        let ex = viewer(&[Role::Executor], Some(7));
        let other_ex = viewer(&[Role::Executor], Some(8));
        assert_eq!(check("submitted", "registered", &op, None), Ok(()));
        assert!(matches!(
            check("submitted", "registered", &ex, Some(7)),
            Err(Refusal::Forbidden(_))
        ));
        assert_eq!(check("registered", "in_progress", &ex, Some(7)), Ok(()));
        assert!(matches!(
            check("registered", "in_progress", &other_ex, Some(7)),
            Err(Refusal::Forbidden(_))
        ));
        assert_eq!(check("in_progress", "answered", &ex, Some(7)), Ok(()));
        assert!(matches!(
            check("in_progress", "answered", &op, Some(7)),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            check("submitted", "closed", &op, None),
            Err(Refusal::NotAllowed { .. })
        ));
        assert!(matches!(
            check("closed", "in_progress", &op, None),
            Err(Refusal::NotAllowed { .. })
        ));
        // Every pair is either in the table or refused as not allowed.
        for from in STATUSES {
            for to in STATUSES {
                let in_table = TRANSITIONS.iter().any(|t| t.to == *to && t.from.contains(from));
                let r = check(from, to, &op, None);
                assert_eq!(!matches!(r, Err(Refusal::NotAllowed { .. })), in_table, "{from} → {to}");
            }
        }
        assert_eq!(open311_status("answered"), "closed");
        assert_eq!(open311_status("extended"), "open");
    }
}
