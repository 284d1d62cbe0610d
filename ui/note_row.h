// A view's note beside its controls on one row; above them, on a row of its own, where beside
// them it would be squeezed into a narrow column (projector mode's large font beside the open
// control panel on a 1024-pixel screen, or a narrow window).
#pragma once

#include <QWidget>

class QBoxLayout;
class QHBoxLayout;
class QLabel;

namespace gpulab {

class NoteRow : public QWidget {
    Q_OBJECT
public:
    // note: a word-wrapped label, placed on the left; the controls go into controls(), after it.
    explicit NoteRow(QLabel* note, QWidget* parent = nullptr);

    QHBoxLayout* controls() const { return m_controls; }
    // The note is above the controls: beside them it would have less than kNoteChars
    // characters across.
    bool stacked() const;
    static constexpr int kNoteChars = 40;

    // Never wider than the controls or the note alone need: the window's width does not
    // depend on the note's place.
    QSize minimumSizeHint() const override;

protected:
    bool event(QEvent* e) override;

private:
    void place();

    QLabel* m_note;
    QBoxLayout* m_box;
    QHBoxLayout* m_controls;
};

} // namespace gpulab
