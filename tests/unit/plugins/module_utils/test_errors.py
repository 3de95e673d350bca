from ansible_collections.hybridcloud.migration.plugins.module_utils import _errors


def test_message_names_operation_object_status_code_and_api_text():
    error = _errors.ApiError("volume is in use", operation="PrimaryStorageMigrateVm", resource="VM web-01",
                             status=503, code="SYS.1006", api_message="volume is in use")
    assert str(error) == "PrimaryStorageMigrateVm on VM web-01 failed: volume is in use (HTTP 503; error code SYS.1006)"
    assert error.to_result() == {"status": 503, "error_code": "SYS.1006", "operation": "PrimaryStorageMigrateVm"}


def test_plain_message_without_context():
    assert str(_errors.ParameterError("parameter 'vm' is required")) == "parameter 'vm' is required"
    assert _errors.ParameterError("x").to_result() == {}


def test_hierarchy_lets_callers_catch_broadly():
    for cls in (_errors.AuthError, _errors.NotFoundError, _errors.ConflictError):
        assert issubclass(cls, _errors.ApiError)
    for cls in (_errors.ApiError, _errors.TransportError, _errors.WaitTimeoutError, _errors.JobFailedError,
                _errors.ParameterError):
        assert issubclass(cls, _errors.MigrationError)
