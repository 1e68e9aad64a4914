package redistest

import "testing"

func TestStartNodeIntegration(t *testing.T) {
	addr := StartNode(t)
	got, err := Command(addr, "CLUSTER", "KEYSLOT", "somekey")
	if err != nil {
		t.Fatal(err)
	}
	if got != "11058" {
		t.Fatalf("CLUSTER KEYSLOT somekey = %q, want 11058", got)
	}
	if _, err := Command(addr, "NOSUCHCOMMAND"); err == nil {
		t.Fatal("an unknown command must come back as an error")
	}
}
