package serversocket

// Byte orders for DataInput and DataOutput, AIR's flash.utils.Endian values.
const (
	BigEndian    = "bigEndian"    // most significant byte first; the default
	LittleEndian = "littleEndian" // least significant byte first
)

// parseEndian maps an Endian value to "little?". Anything else is AIR's
// ArgumentError #2008 for the parameter "type".
func parseEndian(s string) (little bool, err error) {
	switch s {
	case BigEndian:
		return false, nil
	case LittleEndian:
		return true, nil
	}
	return false, errNotAccepted("type")
}

// endianName is the inverse of parseEndian.
func endianName(little bool) string {
	if little {
		return LittleEndian
	}
	return BigEndian
}
