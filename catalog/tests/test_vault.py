import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from catalog import selectors, services, vault
from catalog.models import DigitalCode
from catalog.tests.factories import DigitalCodeFactory, VariantFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()


def test_encrypt_then_decrypt_gives_the_code_back(settings):
    settings.CODE_ENCRYPTION_KEYS = [NEW_KEY]

    token = vault.encrypt("ABCD-EFGH-1234")

    assert "ABCD-EFGH-1234" not in token
    assert vault.decrypt(token) == "ABCD-EFGH-1234"


def test_decrypt_with_a_wrong_key_raises(settings):
    settings.CODE_ENCRYPTION_KEYS = [OLD_KEY]
    token = vault.encrypt("ABCD-EFGH-1234")
    settings.CODE_ENCRYPTION_KEYS = [OTHER_KEY]

    with pytest.raises(vault.VaultError):
        vault.decrypt(token)


@pytest.mark.parametrize("token", ["", "not-a-token", "gAAAAABdamaged"])
def test_decrypt_of_a_damaged_token_raises(token):
    with pytest.raises(vault.VaultError):
        vault.decrypt(token)


def test_digest_is_the_same_for_the_same_code_written_differently():
    assert vault.digest(" abcd-1234\n") == vault.digest("ABCD-1234")
    assert vault.digest("ABCD-1234") != vault.digest("ABCD-1235")


def test_digest_depends_on_its_own_key(settings):
    first = vault.digest("ABCD-1234")

    settings.CODE_DIGEST_KEY = "another-digest-key"

    assert vault.digest("ABCD-1234") != first


def test_rotate_re_encrypts_under_the_newest_key(settings):
    settings.CODE_ENCRYPTION_KEYS = [OLD_KEY]
    token = vault.encrypt("ABCD-1234")
    settings.CODE_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    rotated = vault.rotate(token)

    settings.CODE_ENCRYPTION_KEYS = [NEW_KEY]
    assert vault.decrypt(rotated) == "ABCD-1234"
    assert vault.is_current(rotated)


@pytest.mark.django_db
def test_rotate_code_keys_command_lets_the_old_key_go(settings):
    settings.CODE_ENCRYPTION_KEYS = [OLD_KEY]
    codes = [DigitalCodeFactory(plaintext=f"ROTATE-{n:04d}") for n in range(7)]
    with_pin = codes[0]
    with_pin.pin_encrypted = vault.encrypt("9876")
    with_pin.save()
    settings.CODE_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    call_command("rotate_code_keys", batch_size=3, verbosity=0)

    settings.CODE_ENCRYPTION_KEYS = [NEW_KEY]
    stored = DigitalCode.objects.order_by("id")
    assert [selectors.code_secrets(code=c).code for c in stored] == [
        f"ROTATE-{n:04d}" for n in range(7)
    ]
    assert selectors.code_secrets(code=stored[0]).pin == "9876"


@pytest.mark.django_db
def test_rotate_code_keys_leaves_current_codes_alone_on_a_second_run(settings):
    settings.CODE_ENCRYPTION_KEYS = [OLD_KEY]
    DigitalCodeFactory.create_batch(3)
    settings.CODE_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    services.codes_rotate_keys()
    tokens = list(DigitalCode.objects.values_list("code_encrypted", flat=True))

    summary = services.codes_rotate_keys()

    assert (summary.rotated, summary.already_current) == (0, 3)
    assert list(DigitalCode.objects.values_list("code_encrypted", flat=True)) == tokens


@pytest.mark.django_db
def test_rotate_code_keys_fails_naming_a_code_no_key_opens(settings):
    settings.CODE_ENCRYPTION_KEYS = [OTHER_KEY]
    lost = DigitalCodeFactory(variant=VariantFactory())
    settings.CODE_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    with pytest.raises(CommandError, match=f"code {lost.pk} "):
        call_command("rotate_code_keys", verbosity=0)

    assert DigitalCode.objects.get(pk=lost.pk).code_encrypted == lost.code_encrypted
