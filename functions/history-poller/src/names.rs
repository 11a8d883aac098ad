//! The employees' names for the KPI reports, learned off the survey path: the stream names every
//! person who works an order long before anyone rates it, so the poller, which reads the stream
//! anyway, reads the account's users (`GET users`) when a page names someone whose name the table
//! does not have yet. A survey then never waits on, or spends a request on, a label.

use super::*;

/// What a pass has already done about names: every person looked up once per pass, and the
/// users read at most once per pass (one unknown person, or fifty, cost one `GET users`).
#[derive(Debug, Default)]
pub(crate) struct Names {
    checked: BTreeSet<u64>,
    refreshed: bool,
}

/// "First Last", trimmed; `None` when the user has neither (the report shows the id then).
fn full_name(user: &otklik_retailcrm::User) -> Option<String> {
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

impl<Q: Queue> Poller<Q> {
    /// Makes sure the table names everyone in `people`. Names are a label, not a result: any
    /// failure is logged and the pass goes on (the next pass, or crm-writer when it credits,
    /// tries again). Returns how many names were written.
    pub(crate) async fn learn_names(
        &self,
        people: impl IntoIterator<Item = u64>,
        names: &mut Names,
    ) -> usize {
        let new: Vec<u64> = people
            .into_iter()
            .filter(|p| names.checked.insert(*p))
            .collect();
        if new.is_empty() || names.refreshed {
            return 0;
        }
        let known = match self.store.employee_names(new.iter().copied()).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "employee names not read");
                return 0;
            }
        };
        if new.iter().all(|p| known.contains_key(p)) {
            return 0;
        }
        names.refreshed = true;
        let users = match self.crm.users().await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "retailCRM users not read; names wait for the next pass");
                return 0;
            }
        };
        let mut written = 0;
        for (id, name) in users.iter().filter_map(|u| Some((u.id, full_name(u)?))) {
            if let Err(e) = self.store.save_employee_name(id, &name).await {
                tracing::warn!(error = %e, "employee name not kept");
                return written;
            }
            written += 1;
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(first: Option<&str>, last: Option<&str>) -> otklik_retailcrm::User {
        otklik_retailcrm::User {
            id: 11,
            first_name: first.map(str::to_string),
            last_name: last.map(str::to_string),
            active: true,
            is_manager: true,
        }
    }

    #[test]
    fn a_name_is_first_and_last_trimmed_or_nothing() {
        assert_eq!(
            full_name(&user(Some(" Анна "), Some("Смирнова"))).as_deref(),
            Some("Анна Смирнова")
        );
        assert_eq!(
            full_name(&user(None, Some("Смирнова"))).as_deref(),
            Some("Смирнова")
        );
        assert_eq!(full_name(&user(Some(" "), None)), None);
    }
}
