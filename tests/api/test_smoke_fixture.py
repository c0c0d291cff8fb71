def test_customer_round_trip(api):
    response = api.put("/api/v1/customers/crm-1", json={"email": "Ann@Example.com"})
    assert response.status_code == 200
    assert response.json["status"] == "created"
    assert api.get("/api/v1/customers/crm-1").json["email"] == "Ann@example.com"


def test_rollback_between_tests(api):
    assert api.get("/api/v1/customers/crm-1").status_code == 404
