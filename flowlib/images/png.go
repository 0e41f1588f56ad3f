package images

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
)

// EncodePNG writes img to w in PNG format.
func EncodePNG(w io.Writer, img image.Image) error {
	if img == nil {
		return errors.New("images: EncodePNG: the image is nil")
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("images: encoding PNG: %w", err)
	}
	return nil
}

// WritePNG writes img to the file at path as a PNG, replacing any file
// there. On failure no partial file is left behind.
func WritePNG(path string, img image.Image) (err error) {
	if img == nil {
		return fmt.Errorf("images: WritePNG(%s): the image is nil", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("images: cannot write PNG: %w; check that the directory exists and is writable", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriter(f)
	if err := png.Encode(bw, img); err != nil {
		return fmt.Errorf("images: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("images: writing %s: %w", path, err)
	}
	// Close can report a failed write (a full disk, say), so its error matters.
	if err := f.Close(); err != nil {
		return fmt.Errorf("images: closing %s: %w", path, err)
	}
	return nil
}
