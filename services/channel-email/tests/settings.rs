//! The e-mail adapter's settings as a deployment loads them: every image and manifest sets
//! `APP__SERVICE__HTTP__BIND`, and that alone must not reset the mail-sized body limit to the
//! generic one (a 2.2 MB message would get 413 in every deployment). Its own test binary: it
//! sets process environment variables, which no other test may see.

use channel_email::config::DEFAULT_BODY_LIMIT_BYTES;
use channel_email::Config;
use runtime::Settings;

#[test]
fn a_bind_address_from_the_environment_keeps_the_mail_sized_body_limit_and_an_explicit_limit_wins() {
    std::env::set_var("APP__SERVICE__HTTP__BIND", "0.0.0.0:8080");
    let settings = Settings::<Config>::load(None).expect("settings load");
    assert_eq!(settings.service.http.bind.to_string(), "0.0.0.0:8080");
    assert_eq!(settings.service.http.body_limit_bytes, 25 * 1024 * 1024);
    assert_eq!(settings.service.http.body_limit_bytes, DEFAULT_BODY_LIMIT_BYTES);

    // What the manifests set explicitly per service.
    std::env::set_var("APP__SERVICE__HTTP__BODY_LIMIT_BYTES", "30000000");
    let settings = Settings::<Config>::load(None).expect("settings load");
    assert_eq!(settings.service.http.body_limit_bytes, 30_000_000);
}
