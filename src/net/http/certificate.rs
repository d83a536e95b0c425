//! What the server's certificate says, read from its DER: who it is for, who issued it and when it
//! is valid. Only these fields are read; anything else in the certificate is passed over.

/// The facts of a certificate a report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The subject's common name (else its organization).
    pub subject: String,
    /// The issuer's common name (else its organization).
    pub issuer: String,
    /// UNIX seconds.
    pub not_before: u64,
    pub not_after: u64,
}

const SEQUENCE: u8 = 0x30;
const COMMON_NAME: [u8; 3] = [0x55, 0x04, 0x03];
const ORGANIZATION: [u8; 3] = [0x55, 0x04, 0x0a];

/// Reads a certificate; `None` when its DER is not one this reader understands.
pub fn parse(der: &[u8]) -> Option<Certificate> {
    let (SEQUENCE, certificate, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let mut rest = tbs;
    // `[0] version`, when present; then the serial number and the signature algorithm.
    if let (0xa0, _, after) = element(rest)? {
        rest = after;
    }
    for _ in 0..2 {
        rest = element(rest)?.2;
    }
    let (_, issuer, rest) = element(rest)?;
    let (_, validity, rest) = element(rest)?;
    let (_, subject, _) = element(rest)?;
    let (from_tag, from, validity) = element(validity)?;
    let (until_tag, until, _) = element(validity)?;
    Some(Certificate {
        subject: name(subject),
        issuer: name(issuer),
        not_before: time(from_tag, from)?,
        not_after: time(until_tag, until)?,
    })
}

/// One DER element: its tag, its content and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// A distinguished name's common name, else its organization, else `-`.
fn name(mut rdns: &[u8]) -> String {
    let (mut common_name, mut organization) = (None, None);
    while let Some((_, set, rest)) = element(rdns) {
        rdns = rest;
        let Some((_, pair, _)) = element(set) else {
            continue;
        };
        let Some((_, oid, value)) = element(pair) else {
            continue;
        };
        let Some((_, text, _)) = element(value) else {
            continue;
        };
        let text = String::from_utf8_lossy(text).into_owned();
        match oid {
            o if o == COMMON_NAME => common_name = Some(text),
            o if o == ORGANIZATION => organization = Some(text),
            _ => {}
        }
    }
    common_name.or(organization).unwrap_or_else(|| "-".into())
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as UNIX seconds.
fn time(tag: u8, bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let year: i64 = text.get(..2)?.parse().ok()?;
            (
                if year < 50 { 2000 + year } else { 1900 + year },
                &text[2..],
            )
        }
        0x18 => (text.get(..4)?.parse().ok()?, &text[4..]),
        _ => return None,
    };
    let number = |at: usize| -> Option<i64> { rest.get(at..at + 2)?.parse().ok() };
    let (month, day) = (number(0)?, number(2)?);
    let (hour, minute, second) = (number(4)?, number(6)?, number(8)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    #[test]
    fn subject_issuer_and_dates_are_read() {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Inspecting Proxy CA");
        let ca_key = KeyPair::generate().unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let mut leaf = CertificateParams::new(vec!["example.azurecr.io".to_owned()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "example.azurecr.io");
        leaf.distinguished_name
            .push(DnType::OrganizationName, "Contoso");
        leaf.not_before = rcgen::date_time_ymd(2026, 1, 2);
        leaf.not_after = rcgen::date_time_ymd(2049, 12, 31);
        let key = KeyPair::generate().unwrap();
        let der = leaf.signed_by(&key, &issuer).unwrap().der().to_vec();
        let certificate = parse(&der).unwrap();
        assert_eq!(certificate.subject, "example.azurecr.io");
        assert_eq!(certificate.issuer, "Inspecting Proxy CA");
        assert_eq!(
            super::super::utc_date(certificate.not_before),
            "2026-01-02 00:00 UTC"
        );
        assert_eq!(
            super::super::utc_date(certificate.not_after),
            "2049-12-31 00:00 UTC"
        );
    }

    #[test]
    fn what_is_not_a_certificate_is_none() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(&[0x30, 0x82, 0xff]), None);
        assert_eq!(parse(&[0x30, 0x03, 0x02, 0x01, 0x01]), None);
        assert_eq!(time(0x17, b"991231235959Z"), Some(946_684_799));
        assert_eq!(time(0x18, b"20500101000000Z"), Some(2_524_608_000));
        assert_eq!(time(0x17, b"garbage"), None);
    }
}
