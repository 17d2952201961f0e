package images

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// GenerateKey makes a new ed25519 key pair and writes the private key to
// privPath (PEM "PRIVATE KEY", PKCS #8, mode 0600) and the public key to
// pubPath (PEM "PUBLIC KEY", PKIX, mode 0644). It refuses to overwrite
// either file: a lost signing key cannot be replaced on nodes that trust it.
func GenerateKey(privPath, pubPath string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %w", err)
	}
	if err := writeNewFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeNewFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		os.Remove(privPath) // a private key without its public half is no use
		return nil, err
	}
	return pub, nil
}

// writeNewFile creates path (failing if it exists), writes data and syncs.
func writeNewFile(path string, data []byte, mode os.FileMode) error {
	err := writeFileSynced(path, data, os.O_EXCL, mode)
	switch {
	case errors.Is(err, os.ErrExist):
		return fmt.Errorf("%s exists: not overwriting a key (remove it first if you mean to)", path)
	case errors.Is(err, errWriteFailed):
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return err
}

// LoadPrivateKey reads a private key written by GenerateKey (or by
// `openssl genpkey -algorithm ed25519`).
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, not an ed25519 key", path, k)
	}
	return priv, nil
}

// LoadPublicKey reads a public key written by GenerateKey (or by
// `openssl pkey -pubout`).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, not an ed25519 key", path, k)
	}
	return pub, nil
}

func readPEM(path, blockType string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM block: want a %q PEM file (plinth firmware keygen writes them)", path, blockType)
	}
	if b.Type != blockType {
		return nil, fmt.Errorf("%s: a %q PEM block, want %q (the other half of the key pair?)", path, b.Type, blockType)
	}
	return b.Bytes, nil
}
