// kgnet: the live cluster's traffic probe (test bed only). One static binary, FROM scratch in its image and
// copied onto the node for the metadata stand-in:
//
//	kgnet serve ADDR           answer every HTTP request with "kgnet <hostname>" (pods, the metadata stand-in)
//	kgnet dns ADDR             answer every DNS query (UDP and TCP) with an A record 192.0.2.53
//	kgnet get URL              one HTTP GET, 3 s at most: prints "open <status>" (exit 0) or "closed <error>" (exit 1)
//	kgnet dnsget HOST:PORT     one DNS query over UDP, 3 s at most: "open" (exit 0) or "closed <error>" (exit 1)
//	kgnet idle                 wait for SIGTERM (a client pod to exec probes in)
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const timeout = 3 * time.Second

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kgnet serve|dns|get|dnsget|idle [ARG]")
		os.Exit(2)
	}
	arg := ""
	if len(os.Args) > 2 {
		arg = os.Args[2]
	}
	switch os.Args[1] {
	case "serve":
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "kgnet %s\n", host) })
		fail(http.ListenAndServe(arg, nil))
	case "dns":
		go serveDNSTCP(arg)
		serveDNSUDP(arg)
	case "get":
		// no proxy from the environment: the probe asks the address itself
		client := http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil}}
		resp, err := client.Get(arg)
		if err != nil {
			fmt.Println("closed", err)
			os.Exit(1)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println("open", resp.StatusCode)
	case "dnsget":
		if err := dnsQuery(arg); err != nil {
			fmt.Println("closed", err)
			os.Exit(1)
		}
		fmt.Println("open")
	case "idle":
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// answer turns a query into its response: the question echoed, one A record 192.0.2.53 (nil if not a query).
func answer(query []byte) []byte {
	if len(query) < 12 || query[2]&0x80 != 0 {
		return nil
	}
	end := 12
	for end < len(query) && query[end] != 0 { // the question's name, label by label
		end += int(query[end]) + 1
	}
	end += 5 // the root label, QTYPE and QCLASS
	if end > len(query) {
		return nil
	}
	out := append([]byte{}, query[:end]...)
	out[2] = 0x84 | (query[2] & 0x01) // a response, authoritative, recursion desired as asked
	out[3] = 0x80
	binary.BigEndian.PutUint16(out[4:], 1) // one question, one answer, nothing else
	binary.BigEndian.PutUint16(out[6:], 1)
	binary.BigEndian.PutUint32(out[8:], 0)
	return append(out, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 53)
}

func serveDNSUDP(addr string) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		fail(err)
	}
	buf := make([]byte, 512)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			continue
		}
		if reply := answer(buf[:n]); reply != nil {
			_, _ = conn.WriteTo(reply, peer)
		}
	}
}

func serveDNSTCP(addr string) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	for {
		conn, err := listener.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(timeout))
			var size uint16
			if binary.Read(c, binary.BigEndian, &size) != nil {
				return
			}
			query := make([]byte, size)
			if _, err := io.ReadFull(c, query); err != nil {
				return
			}
			if reply := answer(query); reply != nil {
				_ = binary.Write(c, binary.BigEndian, uint16(len(reply)))
				_, _ = c.Write(reply)
			}
		}(conn)
	}
}

// dnsQuery asks server for kubernetes.default.svc (A) and wants an answer with the same id.
func dnsQuery(server string) error {
	conn, err := net.DialTimeout("udp", server, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	query := []byte{0x4b, 0x47, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range []string{"kubernetes", "default", "svc"} {
		query = append(append(query, byte(len(label))), label...)
	}
	query = append(query, 0, 0, 1, 0, 1)
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(query); err != nil {
		return err
	}
	reply := make([]byte, 512)
	n, err := conn.Read(reply)
	if err != nil {
		return err
	}
	if n < 12 || reply[0] != 0x4b || reply[1] != 0x47 || reply[2]&0x80 == 0 {
		return errors.New("not an answer to our query")
	}
	return nil
}
