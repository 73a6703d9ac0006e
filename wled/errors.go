package wled

import "errors"

var (
	// ErrNotWLED indicates that a reply did not come from a WLED JSON API: it was not JSON, a
	// required field (ver, leds.count) was missing, or a field had the wrong type or range.
	ErrNotWLED = errors.New("wled: reply is not a WLED JSON API response")

	// ErrResponseTooLarge indicates that a JSON API reply exceeded the client's size cap.
	ErrResponseTooLarge = errors.New("wled: response exceeds size cap")

	// ErrHTTPStatus indicates that the JSON API answered with a non-2xx HTTP status.
	ErrHTTPStatus = errors.New("wled: unexpected HTTP status")

	// ErrBadHostPort indicates a host:port string that cannot name a device.
	ErrBadHostPort = errors.New("wled: bad host:port")
)
