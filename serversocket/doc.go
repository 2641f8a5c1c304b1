// Package serversocket is airsock's user-facing API: Adobe AIR's
// flash.net.ServerSocket and flash.net.Socket programming model, in Go,
// over the event loops of package loop.
//
// It reproduces the AIR classes a socket program touches:
//
//   - ServerSocket: Bind, Listen, Close, and a Connect event
//     (ServerSocketConnectEvent) with a connected Socket per accepted
//     connection. A connection accepted while no Connect listener is
//     registered is closed at once.
//   - Socket: the connection, with SocketData, OutputProgress, Close, Connect
//     and IOErrorType events; outbound Connect with AIR's timeout; Flush,
//     Close, BytesAvailable, BytesPending; and a zero-copy Go path (Peek,
//     Discard, io.Writer).
//   - SecureSocket: a Socket over TLS (crypto/tls on the loop), with AIR's
//     certificate checks: ServerCertificate, ServerCertificateStatus (AIR's
//     CertificateStatus values), AddBinaryChainBuildingCertificate, and a
//     cancelable CertificateError event whose default closes. Its server
//     side, ServerSocket.ListenTLS, is an airsock extension: AIR has none.
//   - DatagramSocket: UDP, with Bind, Connect, Send, Receive and Close, and
//     a Data event (DatagramSocketDataEvent) per received datagram; see
//     "Datagrams" below.
//   - XMLSocket: text messages ended by a 0 byte, a DataEvent per message
//     received; NewXMLSocketFor reads an accepted Socket so (an extension).
//   - ReadObject and WriteObject (AMF 3 or AMF 0, ObjectEncoding) over
//     package amf, which imports nothing of airsock: AIR's writeObject
//     objects, with class aliases registered in amf.
//   - EventDispatcher, Event and the socket events (ProgressEvent,
//     OutputProgressEvent, IOErrorEvent, SecurityErrorEvent,
//     ServerSocketConnectEvent): listeners are registered per event type with
//     a priority and run in AIR's order on the socket's loop goroutine.
//   - DataInput and DataOutput: AIR's IDataInput and IDataOutput, the typed
//     big- or little-endian reads and writes a Socket offers over its
//     connection's buffers.
//   - IOError, EOFError, RangeError, ArgumentError, IllegalOperationError and
//     SecurityError: Go errors that carry the runtime's error IDs and print as
//     AIR prints them.
//
// Errors are tested by kind with errors.AsType (or errors.As):
//
//	if e, ok := errors.AsType[*serversocket.EOFError](err); ok { ... e.ErrorID ... }
//
// An EOFError also matches io.ErrUnexpectedEOF under errors.Is. An ioError or
// securityError event that nobody listens for goes to the handler set with
// SetUncaughtErrorHandler (by default a log line); it is never dropped.
//
// Names follow Go style and keep AIR's meaning (bytesAvailable becomes
// BytesAvailable, readUTF becomes ReadUTF). Where Go forces a difference the
// doc comment of the name says so. The byte-level behaviour follows Adobe's
// AVM2 (avmplus core/DataIO.cpp).
//
// # Goroutines and output
//
// Every event of a socket runs on the goroutine of the loop that owns its
// connection, in order; reads belong there. Writes, Flush, Close, Connect
// and the getters are safe from any goroutine. Writes only buffer: what the
// listeners of one dispatch wrote is sent when the dispatch ends (AIR's
// flush between frames), Flush sends at once, and writes from another
// goroutine are sent on the loop's next turn even without Flush. A
// ServerSocket's Connect listeners may run concurrently on different loops:
// use an engine with one loop (NewOn) for AIR's single-threaded model.
//
// # Bounds
//
// AIR buffers without bound; this package does not, so that hostile peers
// cannot exhaust memory (docs/limits.md). Unread input stops growing at the
// engine's loop.Config.MaxInbound (64 KiB by default): an application that
// waits for BytesAvailable to reach a larger message calls
// Socket.ReserveInbound for it, or the socket is closed after
// loop.Config.InboundTimeout. Pending output is bounded by
// Socket.MaxBytesPending; an application that paces its writes by
// BytesPending and outputProgress (as the serversocket backend of airsock
// serve does, at 64 KiB) never reaches it.
//
// Sockets run on a process-wide engine (DefaultEngine, one loop per CPU)
// unless made with NewOn or NewSocketOn. A panicking listener is recovered
// by the loop, logged with its stack, and closes only its own socket.
//
// # Datagrams
//
// A DatagramSocket is one kernel socket on one loop, so its events run in
// order on one goroutine even on an engine of several loops
// (loop.PacketOptions.Single: one socket, without SO_REUSEPORT). A Data
// event's payload (DatagramData, AIR's event.data ByteArray) is the loop's
// memory, read in place: it is valid only while the listeners run, and is
// detached afterwards, so a payload kept by mistake fails its reads (IOError
// #2002) instead of showing a later datagram's bytes; a listener keeps a
// datagram with the event's Clone or a copy of Data.Bytes(). Until Receive
// the socket does not read: datagrams wait in the kernel's buffer and are
// dispatched once it is called, as in AIR. A datagram longer than
// the engine reads (loop.Config.PacketReadSize) is reported as an
// IOErrorType event, never dispatched cut short. DstAddress is the
// datagram's destination (IP_PKTINFO on Linux, so a wildcard bind reports
// the local address it was sent to; elsewhere the bound address). Send from a Data listener is sent when the dispatch ends,
// with the loop's other replies; a steady echo allocates nothing per
// datagram.
//
// # Memory and progress reports
//
// An idle accepted Socket is one 128-byte object plus its listeners (16
// bytes each and a 32-byte slot in its dispatcher's table); its output
// buffer, reused events and Connect state are made on first use (input, a
// write, Connect or a changed property). BytesPending counts what the
// socket buffers and what its connection held at the last flush: a reply
// the kernel takes at once costs no call back into the socket. The loop
// reports output progress to a socket only while an OutputProgress
// listener is registered or its connection holds unsent output, which
// BytesPending must see drain.
//
// The package sits above package loop (imports point serversocket -> loop)
// and never touches the kernel itself.
package serversocket
