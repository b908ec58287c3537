package outreach

// A batch's keys share the hash tag {cpn:<batch>}, so every coupon script
// touches one slot and runs on Redis Cluster. Only the code index lives
// outside it: codes are looked up without knowing their batch.

func couponMetaKey(batch string) string { return "{cpn:" + batch + "}:meta" }

// couponAvailKey is the set of codes not yet issued; SPOP hands them out.
func couponAvailKey(batch string) string { return "{cpn:" + batch + "}:avail" }

// couponCodesKey maps every code of the batch to the contact it was issued
// to ("" while it is available).
func couponCodesKey(batch string) string { return "{cpn:" + batch + "}:codes" }

// couponHolderKey maps a contact to its code, so a contact gets one code per
// batch however often it asks.
func couponHolderKey(batch string) string { return "{cpn:" + batch + "}:holder" }

// couponRedeemedKey maps a redeemed code to "<unix ms>:<order id>".
func couponRedeemedKey(batch string) string { return "{cpn:" + batch + "}:redeemed" }

// couponCodeKey names the batch a code belongs to. SET NX on it is what
// keeps a code unique across every batch.
func couponCodeKey(code string) string { return "cpn:code:" + code }

// couponRemindedKey maps a code to the expiry reminder that holds it:
// "auto:<message id>" or "manual:<count>", so the automatic reminder and
// manual ones never both reach the customer.
func couponRemindedKey(batch string) string { return "{cpn:" + batch + "}:reminded" }
