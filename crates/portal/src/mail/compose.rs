//! The mails of the Servicekonto, in German and English in one message (the portal does not
//! know which language the recipient prefers before they sign in).

use rathaus_domain::Email;

use super::OutgoingMail;

/// Which mail; also part of the file name of the file transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// Confirm the address after registering; carries a 24-hour link.
    Confirm,
    /// Someone tried to register with an address that already has an account.
    AlreadyRegistered,
    /// Set a new password; carries a one-hour link.
    Reset,
    /// A message from an authority waits in the mailbox; carries the mailbox's address and
    /// nothing of the message (neither subject nor text nor sender).
    NewMessage,
    /// Confirm a new address for an existing account; carries a 24-hour link.
    EmailChange,
    /// To the old address: a change to another address was asked for; carries the link to
    /// the account's security page, never the new address.
    EmailChangeNotice,
    /// Someone asked to move their account to this address, which already has an account.
    AddressInUse,
    /// An invitation into a business account (organisation); carries a 14-day link.
    Invitation,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::AlreadyRegistered => "already-registered",
            Self::Reset => "reset",
            Self::NewMessage => "new-message",
            Self::EmailChange => "email-change",
            Self::EmailChangeNotice => "email-change-notice",
            Self::AddressInUse => "address-in-use",
            Self::Invitation => "invitation",
        }
    }
}

/// Builds the mail of `kind` for `to`; `link` is the absolute URL the mail points to.
pub fn compose(kind: MailKind, to: Email, link: &str) -> OutgoingMail {
    let (subject, body) = match kind {
        MailKind::Confirm => (
            "Bitte bestätigen Sie Ihre E-Mail-Adresse / Please confirm your e-mail address",
            format!(
                "Guten Tag,\n\n\
                 Sie haben ein Servicekonto mit dieser E-Mail-Adresse angelegt. Bitte bestätigen \
                 Sie die Adresse über diesen Link (24 Stunden gültig):\n\n{link}\n\n\
                 Wenn Sie kein Konto angelegt haben, müssen Sie nichts tun; ohne Bestätigung \
                 bleibt das Konto unbenutzbar.\n\n\
                 ---\n\nHello,\n\n\
                 You have created an account with this e-mail address. Please confirm the address \
                 with this link (valid for 24 hours):\n\n{link}\n\n\
                 If you did not create an account, you need not do anything; without \
                 confirmation the account cannot be used.\n"
            ),
        ),
        MailKind::AlreadyRegistered => (
            "Ihr Servicekonto / Your account",
            format!(
                "Guten Tag,\n\n\
                 jemand hat versucht, mit dieser E-Mail-Adresse ein Servicekonto anzulegen. Für \
                 diese Adresse besteht bereits ein Konto. Wenn Sie das waren, melden Sie sich an \
                 oder legen Sie ein neues Passwort fest:\n\n{link}\n\n\
                 Wenn Sie das nicht waren, müssen Sie nichts tun: Ihr Konto wurde nicht \
                 verändert.\n\n\
                 ---\n\nHello,\n\n\
                 someone tried to create an account with this e-mail address. There already is \
                 an account for it. If that was you, sign in or set a new password:\n\n{link}\n\n\
                 If that was not you, you need not do anything: your account has not been \
                 changed.\n"
            ),
        ),
        MailKind::Reset => (
            "Neues Passwort festlegen / Set a new password",
            format!(
                "Guten Tag,\n\n\
                 für Ihr Servicekonto wurde ein neues Passwort angefordert. Über diesen Link legen \
                 Sie es fest (eine Stunde gültig, nur einmal verwendbar):\n\n{link}\n\n\
                 Wenn Sie das nicht angefordert haben, müssen Sie nichts tun: Ihr Passwort bleibt \
                 unverändert.\n\n\
                 ---\n\nHello,\n\n\
                 a new password was requested for your account. Set it with this link (valid for \
                 one hour, usable once):\n\n{link}\n\n\
                 If you did not ask for this, you need not do anything: your password stays as \
                 it is.\n"
            ),
        ),
        MailKind::NewMessage => (
            "Neue Nachricht in Ihrem Postfach / New message in your mailbox",
            format!(
                "Guten Tag,\n\n\
                 in Ihrem Postfach im Servicekonto wartet eine neue Nachricht einer Behörde zu \
                 einem Ihrer Anträge. Sie können sie nach der Anmeldung hier lesen:\n\n{link}\n\n\
                 Aus Datenschutzgründen steht der Inhalt nicht in dieser E-Mail.\n\n\
                 ---\n\nHello,\n\n\
                 a new message from an authority about one of your applications is waiting in \
                 the mailbox of your account. Sign in to read it here:\n\n{link}\n\n\
                 To protect your data, its content is not part of this e-mail.\n"
            ),
        ),
        MailKind::EmailChange => (
            "Neue E-Mail-Adresse bestätigen / Confirm your new e-mail address",
            format!(
                "Guten Tag,\n\n\
                 für ein Servicekonto soll künftig diese E-Mail-Adresse gelten. Bitte bestätigen \
                 Sie die Adresse über diesen Link (24 Stunden gültig, nur einmal verwendbar):\n\n\
                 {link}\n\n\
                 Bis dahin bleibt die bisherige Adresse gültig. Wenn Sie das nicht veranlasst \
                 haben, müssen Sie nichts tun.\n\n\
                 ---\n\nHello,\n\n\
                 an account is to use this e-mail address from now on. Please confirm the address \
                 with this link (valid for 24 hours, usable once):\n\n{link}\n\n\
                 Until then the previous address stays valid. If you did not ask for this, you \
                 need not do anything.\n"
            ),
        ),
        MailKind::EmailChangeNotice => (
            "Änderung Ihrer E-Mail-Adresse / Change of your e-mail address",
            format!(
                "Guten Tag,\n\n\
                 für Ihr Servicekonto wurde eine neue E-Mail-Adresse angegeben. Sie gilt erst, \
                 wenn sie über den Link bestätigt ist, den wir an die neue Adresse geschickt \
                 haben.\n\n\
                 Wenn Sie das nicht waren, ändern Sie bitte sofort Ihr Passwort und beenden Sie \
                 alle Sitzungen:\n\n{link}\n\n\
                 ---\n\nHello,\n\n\
                 a new e-mail address was entered for your account. It takes effect only once it \
                 is confirmed through the link we sent to the new address.\n\n\
                 If that was not you, please change your password at once and end all \
                 sessions:\n\n{link}\n"
            ),
        ),
        MailKind::AddressInUse => (
            "Ihr Servicekonto / Your account",
            format!(
                "Guten Tag,\n\n\
                 jemand wollte die E-Mail-Adresse eines anderen Servicekontos in diese Adresse \
                 ändern. Für diese Adresse besteht bereits Ihr Konto; geändert wurde nichts. \
                 Zur Anmeldung:\n\n{link}\n\n\
                 ---\n\nHello,\n\n\
                 someone wanted to change the e-mail address of another account to this one. \
                 This address already belongs to your account; nothing has been changed. To sign \
                 in:\n\n{link}\n"
            ),
        ),
        MailKind::Invitation => (
            "Einladung in ein Unternehmenskonto / Invitation to a business account",
            format!(
                "Guten Tag,\n\n\
                 Sie wurden eingeladen, einem Unternehmenskonto im Serviceportal beizutreten. \
                 Über diesen Link sehen Sie, wer Sie eingeladen hat, und nehmen die Einladung an \
                 (14 Tage gültig; dafür brauchen Sie ein Servicekonto mit dieser \
                 E-Mail-Adresse):\n\n{link}\n\n\
                 Wenn Sie die Einladung nicht erwartet haben, müssen Sie nichts tun.\n\n\
                 ---\n\nHello,\n\n\
                 you have been invited to join a business account on the service portal. This \
                 link shows who invited you and lets you accept (valid for 14 days; you need an \
                 account with this e-mail address):\n\n{link}\n\n\
                 If you did not expect this invitation, you need not do anything.\n"
            ),
        ),
    };
    OutgoingMail {
        to,
        kind,
        subject: subject.to_owned(),
        body,
    }
}
