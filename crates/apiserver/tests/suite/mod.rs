//! The apiserver's REST and watch test suite, run against both storage
//! backends (`tests/rest_sqlite.rs`, `tests/rest_etcd.rs`), through real
//! HTTP on a free loopback port.

pub mod crud;
pub mod delete;
pub mod fuzz;
pub mod harness;
pub mod kubectl;
pub mod lists;
pub mod patch;
pub mod system;
pub mod watch;

/// One `#[tokio::test]` per suite test for a backend's factory.
#[macro_export]
macro_rules! apiserver_suite {
    ($factory:path) => {
        $crate::apiserver_suite!(@tests $factory;
            crud::create_get_update_with_optimistic_concurrency,
            crud::generate_name_and_dry_run,
            crud::validation_errors_are_statuses,
            crud::http_level_errors,
            crud::patches,
            crud::status_subresource_separates_spec_and_status,
            crud::binding_assigns_a_node_once,
            crud::cluster_scoped_nodes,
            crud::scale_subresource,
            patch::strategic_merge_patch,
            patch::apply_creates_and_records_ownership,
            patch::apply_conflicts_and_force,
            patch::apply_prunes_what_it_no_longer_applies,
            patch::managed_fields_on_updates,
            delete::unbound_pods_go_at_once_bound_pods_gracefully,
            delete::finalizers_hold_objects_until_removed,
            delete::propagation_policy_is_recorded_as_finalizers,
            delete::delete_preconditions,
            delete::delete_collection_by_label,
            delete::namespace_lifecycle,
            lists::label_and_field_selectors,
            lists::pagination_is_a_consistent_snapshot,
            lists::expired_continue_is_410,
            lists::resource_version_semantics,
            watch::watch_streams_changes_after_a_list,
            watch::watch_without_version_starts_with_current_state,
            watch::watch_resumes_from_any_recent_version,
            watch::selectors_turn_transitions_into_added_and_deleted,
            watch::namespaced_watch_sees_only_its_namespace,
            watch::timeout_ends_the_stream,
            watch::stopping_the_server_ends_open_watches,
            watch::bookmarks_when_asked,
            watch::too_old_version_is_410_in_stream,
            watch::watch_list_sends_initial_events_then_a_bookmark,
            system::health_version_metrics,
            system::discovery,
            system::aggregated_discovery,
            fuzz::malformed_input_never_breaks_the_server);
    };
    (@tests $factory:path; $($module:ident :: $name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                suite::$module::$name($factory).await;
            }
        )*
    };
}
