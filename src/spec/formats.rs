//! Facts about the fixed file formats a spec may name (`format = criteo`, `avazu`): their fields
//! and columns, which both the checker and the readers need.

/// Criteo's integer feature columns.
pub const CRITEO_NUMERIC: usize = 13;
/// Criteo's categorical feature columns.
pub const CRITEO_CATEGORICAL: usize = 26;

/// The fields an Avazu row becomes: `id` is dropped, `click` is the label, and `hour`
/// (YYMMDDHH) becomes hour-of-day and weekday.
pub const AVAZU_FIELDS: [&str; 23] = [
    "hour_of_day",
    "weekday",
    "C1",
    "banner_pos",
    "site_id",
    "site_domain",
    "site_category",
    "app_id",
    "app_domain",
    "app_category",
    "device_id",
    "device_ip",
    "device_model",
    "device_type",
    "device_conn_type",
    "C14",
    "C15",
    "C16",
    "C17",
    "C18",
    "C19",
    "C20",
    "C21",
];
